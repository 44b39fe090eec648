"""The native ExecuTorch runner: its C++ source (`et_runner.cpp`), how the agent builds it on the device
(`build.py`) and how a measurement runs through it in a child process (`measure.py`).

The runner links only the executorch wheel's runtime libraries, so a board measures ExecuTorch as a
deployed application runs it, without Python's runtime bindings and without torch.
"""
