"""The tasks: one package each (``rnnapps.registry.TASKS`` lists them).

``rnnapps.tasks.base`` holds the contract every task implements and the
``train``/``export``/``load_run`` written once for all of them.
"""
