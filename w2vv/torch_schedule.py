"""The training rule of W2VV's successors (``lr_schedule`` 'torch1.2' or 'torch1.4'), as their published
trainers apply it after every epoch; pure Python, no Keras.

The published model makes two schedulers on one optimizer, ``StepLR(step_size=1, gamma=lr_decay_rate)``
and ``ReduceLROnPlateau(mode='max', factor=0.5, patience=2)`` (torch's defaults: relative threshold
1e-4, cooldown 0, min_lr 0, eps 1e-8), and after the epoch's validation figure ``v`` steps them in this
order: ``StepLR.step()``, then ``ReduceLROnPlateau.step(v)``. What the first does depends on torch:

- torch 1.1 to 1.3 (``'torch1.2'``; W2VV++'s requirements pin 1.1.0): StepLR rewrites the rate from its
  initial one, ``lr = lr₀ · γ^k`` after its k-th step, so a plateau's halving lasts one epoch, the next StepLR
  step undoing it;
- torch 1.4 (SEA's pin; chainable schedulers): StepLR multiplies the current rate, ``lr ← lr · γ``, so
  the halvings persist.

ReduceLROnPlateau (mode 'max', threshold_mode 'rel'): ``v`` is an improvement when ``v > best · (1 + 1e-4)``
(its ``best`` starts at −∞); otherwise a bad epoch; after more than ``patience`` bad epochs in a row the
rate becomes ``max(lr · factor, min_lr)`` (kept when that changes it by no more than eps) and the count
starts again.

The trainer's own rule on the same figure: a new best is strictly above the best so far (which starts
at 0), its weights kept; ``no_impr_counter`` counts the epochs since, and training stops when it exceeds
10 (at the 11th epoch in a row without a new best), or after ``max_epochs``."""
from dataclasses import dataclass

SCHEDULES = ("torch1.2", "torch1.4")


@dataclass
class TorchPlateauRule:
    """The successors' rule (module docstring), with ``training.PlateauRule``'s interface: ``lr`` (the
    rate of the next epoch), ``best``, ``best_epoch``, ``patience`` (the published ``no_impr_counter``),
    ``max_patience``, and ``step(epoch, figure)`` → (improved, lr changed, stop). JSON-able as it is
    (``dataclasses.asdict``), so that a run resumes exactly."""
    lr: float
    base_lr: float
    decay_rate: float = 0.99
    schedule: str = "torch1.4"
    max_patience: int = 10
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    plateau_threshold: float = 1e-4
    plateau_eps: float = 1e-8
    min_lr: float = 0.0
    best: float = 0.0
    best_epoch: int = -1
    patience: int = 0
    steps: int = 0                          # StepLR's last_epoch
    plateau_best: float = float("-inf")
    bad_epochs: int = 0

    @classmethod
    def of_config(cls, cfg):
        if cfg.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule {cfg.lr_schedule!r}: not a torch schedule ({', '.join(SCHEDULES)})")
        return cls(lr=float(cfg.lr), base_lr=float(cfg.lr), decay_rate=float(cfg.lr_decay_rate),
                   schedule=cfg.lr_schedule, max_patience=int(cfg.patience))

    def step_lr(self, figure):
        """StepLR's step, then ReduceLROnPlateau's on ``figure``; returns the new rate (also ``lr``)."""
        self.steps += 1
        if self.schedule == "torch1.2":
            self.lr = self.base_lr * self.decay_rate ** self.steps
        else:
            self.lr = self.lr * self.decay_rate
        if figure > self.plateau_best * (1.0 + self.plateau_threshold):
            self.plateau_best, self.bad_epochs = figure, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.plateau_patience:
            reduced = max(self.lr * self.plateau_factor, self.min_lr)
            if self.lr - reduced > self.plateau_eps:
                self.lr = reduced
            self.bad_epochs = 0
        return self.lr

    def step(self, epoch, figure):
        """Record ``figure`` for ``epoch`` (the published order: the schedulers first, then the best);
        returns (improved, lr changed, stop)."""
        before = self.lr
        self.step_lr(figure)
        improved = figure > self.best
        if improved:
            self.best, self.best_epoch, self.patience = figure, epoch, 0
        else:
            self.patience += 1
        return improved, self.lr != before, self.patience > self.max_patience
