"""rnnapps: recurrent-network applications on Keras 3 and TensorFlow.

Importing the package is cheap: TensorFlow loads only when a module that
needs it (``rnnapps.training``, ``rnnapps.tasks.*``, ...) is imported.
"""

__version__ = "0.1.0"
