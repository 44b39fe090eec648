"""Android's host-side knowledge, in one place.

A phone with Python runs the same agent as every other board (over `transport.adb`). A phone without
it is measured with the runtimes' own native tools: `measure` runs them, `tools` builds their command
lines and reads their output, `cores` finds the big cores to pin them to, `doctor` checks such a phone.
The phone's power meter is in `device/power/android.py`, because it runs inside the agent on the phone.
"""
