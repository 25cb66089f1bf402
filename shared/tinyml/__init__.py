"""tinyml: the shared core of the TinyML reference solutions.

Data flows one way: raw signal -> features -> model -> post-processing -> event.
Nothing in this package names an app: apps are discovered by `apps/<id>/app.toml`.
"""

__version__ = "0.1.0"
