"""The control panel: model, algorithm, lattice, parameters, run controls and protocols.

The panel knows nothing of threads: every user action becomes one ``command(name, kwargs)``
signal naming an :class:`rgviz.worker.EngineWorker` command. Changes that need a new simulation
(model, L, seed, start) send ``set_model`` with the full set of keyword arguments; parameter
changes send ``set_params`` and apply at the next sweep. :meth:`show_frame` keeps the widgets in
step with what the worker reports (an anneal moving T, a loaded session) without echoing back,
and never touches a field the user is typing in (frames arrive many times a second).

Typed numbers are applied by Enter or by leaving the field, exactly as typed or not at all: text
that is no number, out of range or (L) odd stays in a red field and ``message`` says why
(:mod:`rgviz.ui.widgets`). Each model starts at its own transition temperature, or at the last
T it had in this run. L is refused where one sweep would take longer than :data:`SWEEP_BUDGET_S`.
"""

from __future__ import annotations

import importlib
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from .panel import Panel
from .widgets import FloatField, IntField

MODEL_CLASSES = {
    "ising": "engine.models.ising:IsingModel",
    "xy": "engine.models.xy:XYModel",
    "phi4": "engine.models.phi4:Phi4Model",
}
MODEL_TITLES = {"ising": "Ising", "xy": "XY", "phi4": "complex phi^4"}

#: Spin-box range, step and default of every physical parameter.
PARAM_SPECS = {
    "T": (0.01, 20.0, 0.01, 2.269),
    "J": (-5.0, 5.0, 0.05, 1.0),
    "h": (-5.0, 5.0, 0.01, 0.0),
    "t": (0.0, 5.0, 0.01, 0.3),
    "mu": (-10.0, 10.0, 0.05, -1.0),
    "lam": (0.0, 10.0, 0.05, 1.0),
}
PARAM_LABELS = {"T": "T", "J": "J", "h": "h", "t": "t (hopping)", "mu": "mu", "lam": "lambda"}
#: What each parameter is, and its unit in brackets (tooltips).
ENERGY = "[energy, in the units of J; k_B = 1]"
PARAM_TIPS = {
    "T": f"Temperature k_B T {ENERGY}",
    "J": f"Nearest-neighbour coupling J; J > 0 ferromagnetic {ENERGY}",
    "h": f"External field h along +1 (XY: along theta = 0) {ENERGY}",
    "t": "Hopping t of the complex phi^4 action S = -t sum (phi_i* phi_j + c.c.) + ... [dimensionless]",
    "mu": "Mass term mu of sum (mu |phi|^2 + lambda |phi|^4) [dimensionless]",
    "lam": "Quartic coupling lambda of sum (mu |phi|^2 + lambda |phi|^4) [dimensionless]",
}
#: Temperature slider span per model.
T_RANGES = {"ising": (0.5, 5.0), "xy": (0.1, 2.5)}
#: The longest a sweep may take: the worker looks at its commands between sweeps, never inside
#: one, so this bounds how late the app answers (XY at L = 4096 took 16.7 s a sweep on one core).
SWEEP_BUDGET_S = 0.5
#: Sites updated per second on one CPU core, measured at L = 1024 from a cold start at Tc / T_KT
#: (phi^4 at the default couplings): the estimate until the worker has measured a lattice here.
DEFAULT_RATES = {
    ("ising", "metropolis"): 28e6, ("ising", "heatbath"): 27e6, ("ising", "wolff"): 0.78e6,
    ("ising", "swendsen-wang"): 1.8e6, ("xy", "metropolis"): 1.8e6, ("xy", "heatbath"): 0.85e6,
    ("xy", "overrelax"): 0.5e6, ("xy", "wolff"): 0.67e6, ("phi4", "metropolis"): 1.7e6, ("phi4", "hmc"): 0.73e6,
}
#: Rates measured on smaller lattices are not used: there the cost per sweep (frames, Python) dominates.
MEASURE_MIN_L = 256
#: The limit never drops below this (sweeps this small take milliseconds anywhere).
SMALLEST_LIMIT = 64


class SweepBudget:
    """The largest L whose sweep fits in :data:`SWEEP_BUDGET_S` for a model and algorithm here,
    from the sites per second the worker reports (or :data:`DEFAULT_RATES` until it has)."""

    def __init__(self):
        self.rates: dict[tuple[str, str], float] = {}

    def observe(self, model: str, algorithm: str, L: int, sites_per_s: float) -> None:
        """Fold in a measured rate (a running average: single measurements vary by ~20%)."""
        if L >= MEASURE_MIN_L and sites_per_s > 0:
            old = self.rates.get((model, algorithm), sites_per_s)
            self.rates[model, algorithm] = old + 0.25 * (sites_per_s - old)

    def seconds(self, model: str, algorithm: str, L: int) -> float:
        """Estimated seconds per sweep at size L."""
        return L * L / self.rates.get((model, algorithm), DEFAULT_RATES.get((model, algorithm), 1e6))

    def largest_L(self, model: str, algorithm: str, cap: int) -> int:
        L = int(math.sqrt(SWEEP_BUDGET_S / self.seconds(model, algorithm, 1))) // 16 * 16  # steadier text
        return max(SMALLEST_LIMIT, min(cap, L))

    def refusal(self, model: str, algorithm: str, L: int, cap: int) -> str | None:
        """Why L is too slow for ``algorithm`` here, or None."""
        largest = self.largest_L(model, algorithm, cap)
        if L <= largest:
            return None
        return (f"L = {L}: ~{self.seconds(model, algorithm, L):.1f} s per {algorithm} sweep here, and commands "
                f"wait for the sweep; at most {largest}")


def model_class(name: str):
    module, cls = MODEL_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def critical_temperature(model: str) -> tuple[str, float] | None:
    """The label and value of the transition temperature marked on the T slider."""
    from engine import exact

    return {"ising": ("Tc", exact.TC_ISING), "xy": ("T_KT", exact.T_KT_XY)}.get(model)


class MarkedSlider(QSlider):
    """A horizontal slider with a red tick at one value (Tc or T_KT)."""

    def __init__(self):
        super().__init__(Qt.Orientation.Horizontal)
        self.mark: int | None = None

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.mark is None or self.maximum() == self.minimum():
            return
        frac = (self.mark - self.minimum()) / (self.maximum() - self.minimum())
        x = round(8 + frac * (self.width() - 16))
        painter = QPainter(self)
        painter.setPen(QPen(QColor(210, 30, 30), 2))
        painter.drawLine(x, 0, x, self.height())
        painter.end()


class TemperatureControl(QWidget):
    """Slider and spin box for T, kept in sync, with a button that jumps to the marked value."""

    changed = Signal(float)
    STEPS = 1000

    def __init__(self):
        super().__init__()
        self.lo, self.hi = T_RANGES["ising"]
        self.slider = MarkedSlider()
        self.slider.setRange(0, self.STEPS)
        self.slider.setToolTip(f"{PARAM_TIPS['T']}; the red tick marks the transition")
        lo, hi, step, value = PARAM_SPECS["T"]
        # six decimals: Tc = 2.269185 and T_KT = 0.8929 are shown and set exactly
        self.spin = FloatField("T", lo, hi, value, PARAM_TIPS["T"], step, decimals=6)
        self.critical = QPushButton()
        self.critical.setToolTip("Set T to the transition temperature")
        self.critical_T: float | None = None
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self.critical.clicked.connect(lambda: self.spin.setValue(self.critical_T))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        layout.addWidget(self.critical)
        self.set_value(value)

    def set_model(self, model: str) -> None:
        self.lo, self.hi = T_RANGES.get(model, T_RANGES["ising"])
        marked = critical_temperature(model)
        self.critical_T = marked[1] if marked else None
        self.critical.setVisible(marked is not None)
        if marked:
            self.critical.setText(f"{marked[0]} = {marked[1]:.4f}")
            self.slider.mark = self._to_slider(marked[1])
        else:
            self.slider.mark = None
        self.set_value(self.spin.value())
        self.slider.update()

    def value(self) -> float:
        return self.spin.value()

    def editing(self) -> bool:
        """True while the user types in the spin box or holds the slider."""
        return self.spin.editing() or self.slider.isSliderDown()

    def set_value(self, T: float) -> None:
        """Show ``T`` without emitting ``changed``."""
        for w in (self.spin, self.slider):
            w.blockSignals(True)
        self.spin.setValue(T)
        self.slider.setValue(self._to_slider(T))
        for w in (self.spin, self.slider):
            w.blockSignals(False)

    def _to_slider(self, T: float) -> int:
        return round((T - self.lo) / (self.hi - self.lo) * self.STEPS)

    def _on_slider(self, position: int) -> None:
        T = self.lo + (self.hi - self.lo) * position / self.STEPS
        self.spin.blockSignals(True)
        self.spin.setValue(T)
        self.spin.blockSignals(False)
        self.changed.emit(self.spin.value())

    def _on_spin(self, T: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(T))
        self.slider.blockSignals(False)
        self.changed.emit(T)


class ControlPanel(Panel, QWidget):
    """``command(name, kwargs)`` goes to the worker; ``message(text)`` to the status bar."""

    command = Signal(str, dict)
    message = Signal(str)

    def __init__(self, model: str = "ising", L: int = 256, T: float = 2.269, seed: int = 0):
        super().__init__()
        self.model = box = QComboBox()
        for name in MODEL_CLASSES:
            box.addItem(MODEL_TITLES[name], name)
        box.setToolTip("Model to simulate; a switch starts a new run at the model's transition "
                       "temperature, or at the last T it had in this run")
        self.algorithm = QComboBox()
        self.algorithm.setToolTip("Monte Carlo update (only those valid for the model); applies at the next sweep")
        self.L = IntField("L", 4, 4096, L, "Linear size L of the L x L torus; even; Enter starts a new run [sites]",
                          step=2, multiple_of=2)
        self.speed = SweepBudget()
        self.L.limit = lambda L: self.speed.refusal(self.model_name(), self.algorithm.currentText(), L,
                                                    self.L.maximum())
        self.L_limit = QLabel()
        self.L_limit.setMinimumWidth(self.L_limit.fontMetrics().horizontalAdvance("max 0000"))  # no relayout
        self.L_limit.setToolTip(f"The largest L whose sweep takes at most {SWEEP_BUDGET_S} s with this model and "
                                "algorithm on this device (measured while it runs): the app answers commands "
                                "between sweeps")
        self.seed = IntField("seed", 0, 2**31 - 1, seed,
                             "Seed of the random numbers: the same seed gives the same run; Enter starts a new run "
                             "[integer]")
        self.start = QComboBox()
        self.start.addItems(["hot", "cold"])
        self.start.setToolTip("Start (and Reset) from random (hot) or ordered (cold) spins")

        self.T = TemperatureControl()
        self.T.set_value(T)
        self.params: dict[str, QWidget] = {"T": self.T}
        self.param_rows: dict[str, tuple[QLabel, QWidget]] = {}
        self._last_T: dict[str, float] = {}  # per model: the T it had when the user switched away
        params_form = QFormLayout()
        for name, (lo, hi, step, value) in PARAM_SPECS.items():
            widget = self.T if name == "T" else FloatField(PARAM_LABELS[name], lo, hi, value, PARAM_TIPS[name], step)
            self.params[name] = widget
            label = QLabel(PARAM_LABELS[name])
            params_form.addRow(label, widget)
            self.param_rows[name] = (label, widget)
        self.T.changed.connect(lambda v: self._send("set_params", T=v))
        for name, widget in self.params.items():
            if name != "T":
                widget.valueChanged.connect(lambda v, name=name: self._send("set_params", **{name: v}))

        self.sweeps_per_frame = IntField("sweeps / frame", 0, 100_000, 0,
                                         "Sweeps between displayed frames; 0 ('max speed') runs the engine flat out "
                                         "[sweeps]")
        self.sweeps_per_frame.setSpecialValueText("max speed")
        self.sweeps_per_frame.valueChanged.connect(lambda n: self._send("sweeps_per_frame", n=n))

        self.play = QPushButton("Play")
        self.play.setToolTip("Run or pause the simulation (Space)")
        self.play.setCheckable(True)
        self.play.setShortcut("Space")
        self.play.toggled.connect(self._on_play)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Pause and advance exactly one sweep")
        self.step_button.clicked.connect(lambda: self._send("step", n=1))
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Restart from the chosen start state (hot or cold) with the current parameters")
        self.reset_button.clicked.connect(lambda: self._send("reset", start=self.start.currentText()))

        T_lo, T_hi = PARAM_SPECS["T"][:2]
        self.quench_T = FloatField("quench T", T_lo, T_hi, 1.5, f"Temperature to quench to {ENERGY}", 0.05)
        self.quench_button = QPushButton("Quench")
        self.quench_button.setToolTip("Restart from the chosen start state at the quench temperature")
        self.quench_button.clicked.connect(self._on_quench)
        self.anneal_from = FloatField("anneal from T", T_lo, T_hi, 4.0, f"Temperature the anneal starts at {ENERGY}",
                                      0.05)
        self.anneal_to = FloatField("anneal to T", T_lo, T_hi, 1.5, f"Temperature the anneal ends at {ENERGY}", 0.05)
        self.anneal_sweeps = IntField("anneal sweeps", 1, 10_000_000, 2000, "Length of the anneal [sweeps]")
        self.anneal_button = QPushButton("Anneal")
        self.anneal_button.setToolTip("Ramp T linearly from a to b over N sweeps")
        self.anneal_button.clicked.connect(self._on_anneal)

        self.model.currentIndexChanged.connect(self._on_model_changed)
        self.algorithm.currentIndexChanged.connect(self._on_algorithm_changed)
        for w in (self.L, self.seed):
            w.editingFinished.connect(self._rebuild)
        self._layout(params_form)
        for field in self.findChildren(QAbstractSpinBox):
            field.rejected.connect(self.message)
        self._fill_for_model(self.model_name())
        self._built = self._system()  # what the worker was (or will be) started with
        self._algorithm = self.algorithm.currentText()  # the one the worker runs
        self._show_limit()

    def _layout(self, params_form: QFormLayout) -> None:
        system = QFormLayout()
        system.addRow("Model", self.model)
        system.addRow("Algorithm", self.algorithm)
        size = QHBoxLayout()
        size.addWidget(self.L, 1)
        size.addWidget(self.L_limit)
        system.addRow("L", size)
        system.addRow("Seed", self.seed)
        system.addRow("Start", self.start)
        system_box = QGroupBox("System")
        system_box.setLayout(system)
        params_box = QGroupBox("Parameters")
        params_box.setLayout(params_form)
        run = QGridLayout()
        run.addWidget(self.play, 0, 0)
        run.addWidget(self.step_button, 0, 1)
        run.addWidget(self.reset_button, 0, 2)
        run.addWidget(QLabel("Sweeps / frame"), 1, 0)
        run.addWidget(self.sweeps_per_frame, 1, 1, 1, 2)
        run_box = QGroupBox("Run")
        run_box.setLayout(run)
        protocols = QGridLayout()
        protocols.addWidget(QLabel("to T"), 0, 0)
        protocols.addWidget(self.quench_T, 0, 1)
        protocols.addWidget(self.quench_button, 0, 3)
        protocols.addWidget(QLabel("T from"), 1, 0)
        protocols.addWidget(self.anneal_from, 1, 1)
        protocols.addWidget(QLabel("to"), 1, 2)
        protocols.addWidget(self.anneal_to, 1, 3)
        protocols.addWidget(QLabel("over"), 2, 0)
        protocols.addWidget(self.anneal_sweeps, 2, 1)
        protocols.addWidget(QLabel("sweeps"), 2, 2)
        protocols.addWidget(self.anneal_button, 2, 3)
        protocols_box = QGroupBox("Protocols")
        protocols_box.setLayout(protocols)
        layout = QVBoxLayout(self)
        for box in (system_box, params_box, run_box, protocols_box):
            layout.addWidget(box)
        layout.addStretch(1)

    # --- state ----------------------------------------------------------------------------
    def model_name(self) -> str:
        return self.model.currentData()

    def simulation_kwargs(self) -> dict:
        """Everything :class:`engine.session.Simulation` needs to build what the panel shows."""
        cls = model_class(self.model_name())
        kwargs = {"model": self.model_name(), "L": self.L.value(), "seed": self.seed.value(),
                  "start": self.start.currentText(), "algorithm": self.algorithm.currentText()}
        kwargs.update({name: self.params[name].value() for name in cls.param_names})
        return kwargs

    def figure_targets(self) -> list:
        """Controls are no figure: File > Export figure does not offer them."""
        return []

    def show_frame(self, snapshot: dict) -> None:
        """Reflect the worker's state (running, model, algorithm, L, parameters) silently; a
        field the user is editing (see :meth:`rgviz.ui.widgets.IntField.editing`) keeps its text."""
        widgets = [self.play, self.model, self.algorithm, self.L] + list(self.params.values())
        for w in widgets:
            w.blockSignals(True)
        try:
            self.play.setChecked(bool(snapshot.get("running")))
            self.play.setText("Pause" if snapshot.get("running") else "Play")
            model = snapshot["model"]
            if model != self.model_name():
                self.model.setCurrentIndex(self.model.findData(model))
                self._fill_for_model(model)
            if snapshot.get("algorithm") and snapshot["algorithm"] != self.algorithm.currentText():
                self.algorithm.setCurrentText(snapshot["algorithm"])
            self._algorithm = self.algorithm.currentText()
            L = snapshot["lattice"].shape[-1]
            if snapshot.get("running") and self.sweeps_per_frame.value() == 0:  # flat out: the engine's speed
                self.speed.observe(model, self._algorithm, L, snapshot.get("rate", {}).get("sites_per_s", 0.0))
                self._show_limit()
            if not self.L.editing():
                self.L.setValue(L)
            self._built = (model, L, self.seed.value())
            for name, value in (snapshot.get("params") or {}).items():
                widget = self.params.get(name)
                if widget is not None and not widget.editing():
                    value = float(value[0] if isinstance(value, (list, tuple)) else value)
                    widget.set_value(value) if name == "T" else widget.setValue(value)
        finally:
            for w in widgets:
                w.blockSignals(False)

    def _fill_for_model(self, model: str) -> None:
        cls = model_class(model)
        self.algorithm.blockSignals(True)
        self.algorithm.clear()
        self.algorithm.addItems(list(cls.algorithms))
        self.algorithm.blockSignals(False)
        for name, (label, widget) in self.param_rows.items():
            label.setVisible(name in cls.param_names)
            widget.setVisible(name in cls.param_names)
        self.T.set_model(model)
        has_T = "T" in cls.param_names
        for w in (self.quench_T, self.quench_button, self.anneal_from, self.anneal_to,
                  self.anneal_sweeps, self.anneal_button):
            w.setEnabled(has_T)

    # --- actions --------------------------------------------------------------------------
    def _send(self, name: str, **kwargs) -> None:
        self.command.emit(name, kwargs)

    def _rebuild(self) -> None:
        """Send ``set_model`` when what defines the system (model, L, seed) has changed."""
        kwargs = self.simulation_kwargs()
        if self._system() != self._built:
            self._built = self._system()
            self._send("set_model", **kwargs)

    def _system(self) -> tuple:
        return self.model_name(), self.L.value(), self.seed.value()

    def _on_model_changed(self) -> None:
        """Remember the old model's T; start the new one at its last T or at its transition, and
        at a size whose sweep fits the budget."""
        old, new = self._built[0], self.model_name()
        if "T" in model_class(old).param_names:
            self._last_T[old] = self.T.value()
        self._fill_for_model(new)
        if "T" in model_class(new).param_names:
            marked = critical_temperature(new)
            self.T.set_value(self._last_T.get(new, marked[1] if marked else PARAM_SPECS["T"][3]))
        self._algorithm = self.algorithm.currentText()
        largest = self.speed.largest_L(new, self._algorithm, self.L.maximum())
        if self.L.value() > largest:
            self.message.emit(f"L reduced from {self.L.value()} to {largest}: "
                              + self.speed.refusal(new, self._algorithm, self.L.value(), self.L.maximum()))
            self.L.setValue(largest)
        self._show_limit()
        self._rebuild()

    def _on_algorithm_changed(self) -> None:
        """Switch the worker's algorithm, unless its sweep at this L would not fit the budget."""
        name = self.algorithm.currentText()
        if not name:
            return
        reason = self.speed.refusal(self.model_name(), name, self._built[1], self.L.maximum())
        if reason:
            self.message.emit(f"{name} not started: {reason}")
            self.algorithm.blockSignals(True)
            self.algorithm.setCurrentText(self._algorithm)
            self.algorithm.blockSignals(False)
            return
        self._algorithm = name
        self._show_limit()
        self._send("set_algorithm", name=name)

    def _show_limit(self) -> None:
        text = f"max {self.speed.largest_L(self.model_name(), self._algorithm, self.L.maximum())}"
        if text != self.L_limit.text():
            self.L_limit.setText(text)

    def _on_play(self, on: bool) -> None:
        self.play.setText("Pause" if on else "Play")
        self._send("play" if on else "pause")

    @staticmethod
    def _refused(*fields) -> bool:
        """Apply what is typed in ``fields``; True (each bad field red, with a message) if any is refused."""
        return not all([f.apply_text() for f in fields])

    def _on_quench(self) -> None:
        if not self._refused(self.quench_T):
            self._send("quench", T=self.quench_T.value(), start=self.start.currentText())

    def _on_anneal(self) -> None:
        if not self._refused(self.anneal_from, self.anneal_to, self.anneal_sweeps):
            self._send("anneal", T_from=self.anneal_from.value(), T_to=self.anneal_to.value(),
                       sweeps=self.anneal_sweeps.value())
