from vlmteach.cli.main import main


def test_doctor_passes_on_the_shipped_models(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ok] optimization step" in out and "FAIL" not in out
    assert "torch" in out and "2.13.0" in out
