"""`Trainer`: compile / fit / evaluate / predict (filled in by the training engine)."""


class Trainer:
    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
