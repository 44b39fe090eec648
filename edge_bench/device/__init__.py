"""Code that runs ON the device.

Imports nothing from the rest of edge_bench and needs only the standard library, numpy and the
runtime being measured, so it can be shipped to a board as a zipapp (see edge_bench.transport.bundle).
"""
