"""An ExecuTorch program (.pte) as ExecuTorch itself reads it, and the memory it plans.

The file is parsed by ExecuTorch's own deserializer (`deserialize_pte_binary`, the one its tools use),
which restores segments into the program: delegate payloads inline, constants into the constant
buffer, named data (where XNNPACK keeps its weights) beside it. Nothing is read by field position.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

MAGIC = b"ET12"  # the flatbuffer file identifier of ExecuTorch programs


@dataclass(frozen=True)
class PteFile:
    """A deserialized program (`executorch.exir.schema.Program`) and the data stored beside it."""

    path: str
    file_bytes: int
    program: Any  # executorch.exir.schema.Program
    named_data_bytes: int

    @property
    def methods(self) -> list[str]:
        return [plan.name for plan in self.program.execution_plan]

    def plan(self, method: str = "forward") -> Any:
        """The ExecutionPlan of `method` (InputError naming the methods when there is none)."""
        for plan in self.program.execution_plan:
            if plan.name == method:
                return plan
        raise InputError(f"{self.path}: no method '{method}' (methods: {', '.join(self.methods)})")

    def delegate_payload(self, delegate: Any) -> bytes:
        """The payload of a plan's BackendDelegate (restored inline by the deserializer)."""
        return bytes(self.program.backend_delegate_data[delegate.processed.index].data)


def read_pte(source: str | Path | bytes, name: str = "") -> PteFile:
    """Deserialize a .pte from its path or its bytes; InputError (naming the file) when it is none."""
    if isinstance(source, (bytes, bytearray)):
        data, path = bytes(source), name or "<program bytes>"
    else:
        path = str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise InputError(f"{path}: cannot read the .pte program: {e.strerror}") from None
    if data[4:8] != MAGIC:
        raise InputError(f"{path}: not an ExecuTorch program (file identifier {data[4:8]!r}, expected {MAGIC!r})")
    from executorch.exir._serialize._program import deserialize_pte_binary

    try:
        pte = deserialize_pte_binary(data)
    except Exception as e:  # noqa: BLE001 - any parse failure of a damaged file says the same
        raise InputError(f"{path}: truncated or corrupt ExecuTorch program ({type(e).__name__}: {e})") from None
    named = pte.named_data
    named_bytes = 0
    if named is not None:
        used = {entry.buffer_index for entry in named.pte_data.values()}
        named_bytes = sum(len(named.buffers[i]) for i in used)
    return PteFile(path, len(data), pte.program, named_bytes)


def planned_memory(pte: PteFile, method: str = "forward") -> dict[str, Any]:
    """ExecuTorch's memory plan of `method`: planned buffers = sum(non_const_buffer_sizes[1:]).

    Index 0 of non_const_buffer_sizes is reserved. With a delegate the plan holds only what crosses
    the delegate boundary (for a fully delegated graph: its input and output); what the delegate
    allocates itself (XNNPACK's packed weights and workspace) is not in it.
    """
    program, plan = pte.program, pte.plan(method)
    sizes = [int(s) for s in plan.non_const_buffer_sizes]
    constant_bytes = sum(len(buffer.storage) for buffer in program.constant_buffer)
    delegate_bytes = sum(len(pte.delegate_payload(d)) for d in plan.delegates)
    return {
        "format": "pte",
        "method": plan.name,
        "non_const_buffer_sizes": sizes,
        "planned_bytes": sum(sizes[1:]),
        # Weights stored as data: constant tensors (non-delegated ops) plus named data (XNNPACK keeps its
        # weights there); a delegate's own payload (its compiled graph) is counted apart.
        "constant_bytes": constant_bytes + pte.named_data_bytes,
        "constant_segment_bytes": constant_bytes,
        "named_data_bytes": pte.named_data_bytes,
        "delegate_blob_bytes": delegate_bytes,
        "delegates": len(plan.delegates),
        "file_bytes": pte.file_bytes,
        "note": (
            "memory a delegate allocates itself (XNNPACK's packed weights and workspace) is not in this plan"
            if plan.delegates
            else None
        ),
    }


def instructions(plan: Any) -> list[tuple[str, int]]:
    """(kind, index) per instruction in execution order: kernel -> operators[index], delegate -> delegates[index]."""
    out = []
    for chain in plan.chains:
        for instruction in chain.instructions:
            args = instruction.instr_args
            kind = type(args).__name__
            if kind == "KernelCall":
                out.append(("kernel", int(args.op_index)))
            elif kind == "DelegateCall":
                out.append(("delegate", int(args.delegate_index)))
            else:
                out.append((kind.removesuffix("Call").lower(), -1))
    return out


def operator_names(plan: Any) -> list[str]:
    """The plan's operator table as "namespace::op.overload"."""
    return [f"{op.name}.{op.overload}" if op.overload else op.name for op in plan.operators]
