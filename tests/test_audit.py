"""The gradient-masking audit (lib.attacks.audit) on a tiny model."""

from __future__ import annotations

import torch

from lib.attacks import PGD, audit


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 10)).eval()


def test_suite_runs_and_all_is_the_worst_case():
    net = _net()
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(8, 1, 4, 4, generator=g), torch.randint(0, 10, (8,), generator=g)
    budget = audit.AuditBudget(strong_steps=3, strong_restarts=2, steps=2, targets=2, queries=5)
    training = PGD.madry(0.1, "inf", 2)
    attacks = audit.suite(net, norm="inf", eps=0.1, training_attack=training, budget=budget)
    assert list(attacks) == ["training PGD", "strong PGD", "APGD-CE", "APGD-T", "FAB-T", "Square"]
    accs = audit.robust_accuracies(net, attacks, x, y)
    assert accs["all"] <= min(v for k, v in accs.items() if k != "all")
    flags = audit.masking_flags(net, x, y, accs)
    assert set(flags) == {"zero-gradient fraction", "Square beats strong PGD by"}


def test_attacks_run_apart_in_any_order_give_the_suites_numbers():
    # The book runs each attack as its own task (lib.benefits.audit_attack): each
    # must seed its own randomness, so that order and process do not matter.
    net = _net()
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(16, 1, 4, 4, generator=g), torch.randint(0, 10, (16,), generator=g)
    budget = audit.AuditBudget(strong_steps=3, strong_restarts=2, steps=3, targets=2, queries=20)
    kw = dict(norm="inf", eps=0.3, training_attack=PGD.madry(0.3, "inf", 3), budget=budget)
    together = audit.robust_accuracies(net, audit.suite(net, **kw), x, y)
    apart = {}
    for name in reversed(audit.ATTACKS):  # a fresh suite per attack, as in a worker
        torch.manual_seed(123 + len(apart))  # whatever the process's state
        apart[name] = audit.survives(net, audit.suite(net, **kw)[name], x, y)
    assert audit.accuracies(apart) == together
    assert list(audit.COSTS) == list(audit.ATTACKS)
    zero = audit.zero_gradient_fraction(net, x, y)
    assert audit.flags_of(zero, together) == audit.masking_flags(net, x, y, together)


def test_masking_rule():
    assert not audit.masked({"zero-gradient fraction": 0.0, "Square beats strong PGD by": 0.02})
    assert audit.masked({"zero-gradient fraction": 0.0, "Square beats strong PGD by": 0.03})
    assert audit.masked({"zero-gradient fraction": 0.1, "Square beats strong PGD by": -0.1})
