from vlmteach.cli.main import main


def test_doctor_passes_on_the_shipped_models(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ok] optimization step" in out and "FAIL" not in out
    assert "torch" in out and "2.13.0" in out
    assert "end-state picture of 1.1" in out and "(guide)" in out  # the shipped teacher steers by its picture


def test_doctor_wan_backend_on_tiny_models(capsys):
    assert main(["doctor", "--backend", "wan", "--tiny"]) == 0
    out = capsys.readouterr().out
    assert "[ok] wan2.1-i2v (tiny)" in out and "[ok] wan2.2-ti2v (tiny)" in out and "FAIL" not in out
    assert "gradients in 32/32 LoRA tensors and nowhere else" in out


def test_doctor_backend_needs_tiny(capsys):
    assert main(["doctor", "--backend", "wan"]) == 2
    assert "--tiny" in capsys.readouterr().out


def test_doctor_reports_gradients_outside_the_lora(capsys, monkeypatch):
    from vlmteach.reasoners import wan

    real = wan.WanReasoner.add_lora

    def leaky(self, *args, **kwargs):  # also unfreeze a base weight: the doctor must catch it
        real(self, *args, **kwargs)
        self.net.transformer.proj_out.weight.requires_grad_(True)

    monkeypatch.setattr(wan.WanReasoner, "add_lora", leaky)
    assert main(["doctor", "--backend", "wan", "--tiny"]) == 1
    assert "FAIL" in capsys.readouterr().out
