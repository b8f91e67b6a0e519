"""Exceptions: Mangum's four, plus cymangum's errors for bad events and bad responses."""


class LifespanFailure(Exception):
    """Raised when the application fails lifespan startup or shutdown."""


class LifespanUnsupported(Exception):
    """Raised when the application does not appear to support the lifespan protocol."""


class UnexpectedMessage(Exception):
    """Raised when the application sends a message that is not valid in the current state."""


class ConfigurationError(Exception):
    """Raised when Mangum is constructed with an invalid argument."""


class UnrecognizedEventError(RuntimeError):
    """No handler recognizes the event (a RuntimeError, as Mangum raises)."""


class MalformedEventError(ValueError):
    """The event belongs to a known HTTP source but cannot be turned into a request (answered with a 400)."""


class InvalidResponseError(TypeError):
    """The application sent a response that cannot be represented in the Lambda result (answered with a 500)."""
