"""The one colour module: scalar lookups over a range, lattice colouring, Qt's RGB32 words."""

import numpy as np

from rgviz.ui.colors import colorize, lookup, lookup_table, rgb32


def test_lookup_maps_the_range_onto_the_table_ends_and_clips():
    table = lookup_table("viridis", alpha=True) / 255.0
    rgba = lookup(np.array([-1.0, 0.0, 2.0, 5.0, np.nan]), "viridis", 0.0, 2.0)
    np.testing.assert_allclose(rgba[[0, 1, 4]], table[[0, 0, 0]], atol=1e-6)  # below, at lo, NaN
    np.testing.assert_allclose(rgba[[2, 3]], table[[255, 255]], atol=1e-6)  # at hi, above
    np.testing.assert_allclose(lookup(np.array([3.0]), "viridis", 1.0, 1.0), table[[0]], atol=1e-6)  # empty range


def test_colorize_ising_uses_the_end_colours_and_phi4_dims_with_amplitude():
    lut = lookup_table("CET-D1")
    spins = np.array([[1, -1], [-1, 1]], np.int8)
    rgb = colorize(spins, "ising", lut)
    np.testing.assert_array_equal(rgb[0, 0], lut[255])
    np.testing.assert_array_equal(rgb[0, 1], lut[0])
    field = np.zeros((2, 2, 2))
    field[0] = [[1.0, 0.0], [1.0, 1.0]]  # one site with zero amplitude
    assert colorize(field, "phi4", lookup_table("CET-C6"))[0, 1].sum() == 0


def test_rgb32_packs_opaque_words():
    assert rgb32(np.array([[0x12, 0x34, 0x56]], np.uint8))[0] == 0xFF123456
