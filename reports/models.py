"""No models: this app only presents data owned by the process apps."""
