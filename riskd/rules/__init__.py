"""Pure rules engine: rule model, loader, safe expressions, alert states, test runner."""
