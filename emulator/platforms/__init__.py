"""What the platforms the stack runs on do: their limits and behaviours as pure data."""
