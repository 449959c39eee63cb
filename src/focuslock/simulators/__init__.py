"""The simulated macro bench: a tethered body in live view on a macro setup, for the demo and the tests."""
