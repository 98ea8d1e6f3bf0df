"""`lamina.export`: models as files that run without lamina.

`model.export(path, format=...)` writes one model; `ExportArchive` writes several
endpoints. Formats: `"onnx"` (onnxruntime), `"torch"` (a `torch.export` program, `.pt2`)
and `"executorch"` (`.pte`, for phones and embedded devices). Every format is traced once
by `torch.export` in inference mode, with a dynamic batch axis.
"""

from lamina.export.export_archive import ExportArchive as ExportArchive
