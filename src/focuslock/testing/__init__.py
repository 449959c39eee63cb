"""Code only tests and scripts use: fault injection around a camera, synthetic defocus of real photographs."""
