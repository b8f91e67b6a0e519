"""Lambda handler modules that tests/test_awslambdaric.py runs inside a real ``awslambdaric`` process.

They are imported twice: by the runtime process (``python -m awslambdaric ric_apps.<module>.<handler>``, with this
folder's parent as the task root) and by the test process, which calls the same handlers in-process to compute
the expected results. ``_adapter`` is the one place that chooses the adapter under test.
"""
