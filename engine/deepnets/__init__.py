"""Deep random networks at the edge of chaos: mean-field theory (:mod:`.meanfield`), the same quantities
measured on random torch networks (:mod:`.random_nets`), and trainability against depth and sigma_w^2
(:mod:`.trainability`)."""
