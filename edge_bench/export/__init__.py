"""Quantize (PT2E INT8) and export to ExecuTorch (.pte) and LiteRT (.tflite), cached by content hash."""
