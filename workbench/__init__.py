"""Customer Success analytics workbench: what actually predicts renewal, with honest statistics."""
__version__ = "0.1.0"
