"""Reading data in: the contract, loading and checking tables, the mapping language, configuration."""
