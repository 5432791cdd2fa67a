"""The policy rule pack: cdk-nag style rules over the resources of a stack.

`rules.py` and `secret_scan.py` are pure Python (tested by case tables without a synth);
`aspect.py` applies the rules to a stack's constructs during synthesis.
"""
