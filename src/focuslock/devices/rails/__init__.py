"""Rails and turntables: a small protocol (:mod:`.base`), the profiles that pick a backend
(:mod:`.profile`, ``drivers/rails/*.toml``) and the backends that speak to hardware: a
G-code stage (:mod:`.gcode`), Cognisys StackShot (:mod:`.stackshot`) and an HTTP rail
(:mod:`.http_rail`). The simulated bench's rail and turntable are in
:mod:`focuslock.simulators.sim_stage`."""
