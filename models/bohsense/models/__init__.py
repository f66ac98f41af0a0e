"""bohsense models: pure computation (no I/O beyond the command line in ``cli``).

* ``bohsense.models.detect``: streaming anomaly detectors of one series, one contract
  (``learn_one`` / ``score_one`` / ``to_state``), scores in [0, 1] kept apart from the
  decision threshold;
* ``bohsense.models.vibration``: bearing and shaft fault diagnosis of a vibration
  waveform from physics (defect frequencies from the bearing geometry);
* ``bohsense.models.rul``: remaining useful life from run-to-failure tables;
* ``bohsense.models.synthetic``: generators of test data with known ground truth.
"""

from __future__ import annotations

from bohsense.models.detect import Detector, Features

__all__ = ["Detector", "Features"]
