""".tflite -> C: parse, check supported ops, plan memory, emit model.c/.h; host harness; profile and bench.

    from tinyml.compile import compile_tflite, HostModel
    cm = compile_tflite(open("model.int8.tflite", "rb").read(), "build/app/gen")
    y = HostModel(tflite_bytes).invoke(x_int8)
"""

from .codegen import CompiledModel, compile_tflite, runtime_dir, runtime_sources
from .host import HostModel, run_sanitized
from .tflite_format import parse_tflite

__all__ = ["CompiledModel", "HostModel", "compile_tflite", "parse_tflite", "run_sanitized", "runtime_dir",
           "runtime_sources"]
