"""Statistics with no domain in them: AUC and its intervals, power, rates, growth curves."""
