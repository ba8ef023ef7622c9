"""Components of the AWS lab stack, one ``ComponentResource`` per concern (see ``__main__.py``)."""
