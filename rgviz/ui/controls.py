"""The control panel: model, algorithm, lattice, parameters, run controls and protocols.

The panel knows nothing of threads: every user action becomes one ``command(name, kwargs)``
signal naming an :class:`rgviz.worker.EngineWorker` command. Changes that need a new simulation
(model, L, seed, start) send ``set_model`` with the full set of keyword arguments; parameter
changes send ``set_params`` and apply at the next sweep. :meth:`show_frame` keeps the widgets in
step with what the worker reports (an anneal moving T, a loaded session) without echoing back.
"""

from __future__ import annotations

import importlib

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

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
#: Temperature slider span per model.
T_RANGES = {"ising": (0.5, 5.0), "xy": (0.1, 2.5)}


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
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(4)
        lo, hi, step, value = PARAM_SPECS["T"]
        self.spin.setRange(lo, hi)
        self.spin.setSingleStep(step)
        self.spin.setKeyboardTracking(False)
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


def _double_spin(lo: float, hi: float, step: float, value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(4)
    box.setValue(value)
    box.setKeyboardTracking(False)
    return box


class ControlPanel(QWidget):
    command = Signal(str, dict)

    def __init__(self, model: str = "ising", L: int = 256, T: float = 2.269, seed: int = 0):
        super().__init__()
        self.model = box = QComboBox()
        for name in MODEL_CLASSES:
            box.addItem(MODEL_TITLES[name], name)
        self.algorithm = QComboBox()
        self.L = QSpinBox()
        self.L.setRange(4, 4096)
        self.L.setSingleStep(2)
        self.L.setValue(L)
        self.L.setToolTip("Linear size of the torus (even)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(seed)
        self.start = QComboBox()
        self.start.addItems(["hot", "cold"])
        self.start.setToolTip("Start (and Reset) from random (hot) or ordered (cold) spins")

        self.T = TemperatureControl()
        self.T.set_value(T)
        self.params: dict[str, QWidget] = {"T": self.T}
        self.param_rows: dict[str, tuple[QLabel, QWidget]] = {}
        params_form = QFormLayout()
        for name, (lo, hi, step, value) in PARAM_SPECS.items():
            widget = self.T if name == "T" else _double_spin(lo, hi, step, value)
            self.params[name] = widget
            label = QLabel(PARAM_LABELS[name])
            params_form.addRow(label, widget)
            self.param_rows[name] = (label, widget)
        self.T.changed.connect(lambda v: self._send("set_params", T=v))
        for name, widget in self.params.items():
            if name != "T":
                widget.valueChanged.connect(lambda v, name=name: self._send("set_params", **{name: v}))

        self.sweeps_per_frame = QSpinBox()
        self.sweeps_per_frame.setRange(0, 100_000)
        self.sweeps_per_frame.setSpecialValueText("max speed")
        self.sweeps_per_frame.setToolTip("Sweeps between displayed frames; 'max speed' runs the engine flat out")
        self.sweeps_per_frame.valueChanged.connect(lambda n: self._send("sweeps_per_frame", n=n))

        self.play = QPushButton("Play")
        self.play.setCheckable(True)
        self.play.setShortcut("Space")
        self.play.toggled.connect(self._on_play)
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Pause and advance exactly one sweep")
        self.step_button.clicked.connect(lambda: self._send("step", n=1))
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(lambda: self._send("reset", start=self.start.currentText()))

        self.quench_T = _double_spin(0.01, 20.0, 0.05, 1.5)
        self.quench_button = QPushButton("Quench")
        self.quench_button.setToolTip("Restart from the chosen start state at the quench temperature")
        self.quench_button.clicked.connect(
            lambda: self._send("quench", T=self.quench_T.value(), start=self.start.currentText()))
        self.anneal_from = _double_spin(0.01, 20.0, 0.05, 4.0)
        self.anneal_to = _double_spin(0.01, 20.0, 0.05, 1.5)
        self.anneal_sweeps = QSpinBox()
        self.anneal_sweeps.setRange(1, 10_000_000)
        self.anneal_sweeps.setValue(2000)
        self.anneal_button = QPushButton("Anneal")
        self.anneal_button.setToolTip("Ramp T linearly from a to b over N sweeps")
        self.anneal_button.clicked.connect(self._on_anneal)

        self.model.currentIndexChanged.connect(self._on_model_changed)
        self.algorithm.currentIndexChanged.connect(self._on_algorithm_changed)
        for w in (self.L, self.seed):
            w.editingFinished.connect(self._rebuild)
        self._layout(params_form)
        self._fill_for_model(self.model_name())
        self._built = self._system()  # what the worker was (or will be) started with

    def _layout(self, params_form: QFormLayout) -> None:
        system = QFormLayout()
        system.addRow("Model", self.model)
        system.addRow("Algorithm", self.algorithm)
        system.addRow("L", self.L)
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

    def show_frame(self, snapshot: dict) -> None:
        """Reflect the worker's state (running, model, algorithm, L, parameters) silently."""
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
            self.L.setValue(snapshot["lattice"].shape[-1])
            self._built = self._system()
            for name, value in (snapshot.get("params") or {}).items():
                if name in self.params:
                    value = value[0] if isinstance(value, (list, tuple)) else value
                    self.params[name].set_value(float(value)) if name == "T" else \
                        self.params[name].setValue(float(value))
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
        self._fill_for_model(self.model_name())
        self._rebuild()

    def _on_algorithm_changed(self) -> None:
        if self.algorithm.currentText():
            self._send("set_algorithm", name=self.algorithm.currentText())

    def _on_play(self, on: bool) -> None:
        self.play.setText("Pause" if on else "Play")
        self._send("play" if on else "pause")

    def _on_anneal(self) -> None:
        self._send("anneal", T_from=self.anneal_from.value(), T_to=self.anneal_to.value(),
                   sweeps=self.anneal_sweeps.value())
