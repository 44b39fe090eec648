"""Measuring: the protocol that turns built artifacts into result records, in the order it runs.

- `job.py`: what is measured (a Job per variant and runtime, built before anything is measured), the
  record it starts from and the identity that decides its number;
- `spec.py`: what the target asks of a measurement (the stop rule) and of one round (the agent's spec);
- `precision.py`: the confidence interval of a median over rounds, and when a measurement may stop;
- `rounds.py`: one measurement's rounds as they come in, and the record they make;
- `schedule.py`: which measurement takes the next round, and the order of a pass (twins side by side);
- `alongside.py`: a baseline's artifacts as twins of the run's jobs;
- `runner.py`: the sweep itself, per target over a transport session; a failure is a record;
- `summary.py`: what a run did, counted;
- `gate.py`: the regression gate over what was measured (`compare`, `baseline accept`).

Imports run one way: job -> spec, precision -> rounds -> schedule -> runner; `gate` needs only
`precision` and the results.
"""
