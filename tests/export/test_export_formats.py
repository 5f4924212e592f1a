"""Dispatch on a format name (ascendgan.export.export) and the ATC command line (ascendgan.export.atc)."""


from ascendgan import export


def test_export_dispatches_every_format(dcgan, tmp_path):
    formats = {"saved_model": tmp_path / "sm", "frozen_graph": tmp_path / "g.pb"}
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401

        formats["onnx"] = tmp_path / "g.onnx"
    except ImportError:
        pass
    for name, path in formats.items():
        assert export.export(dcgan, path, format=name, batch_size=1) == str(path)
        assert path.exists()
    assert (tmp_path / "sm" / "saved_model.pb").exists()


def test_atc_command_reads_the_input_shapes(biggan_pb):
    stem = biggan_pb[:-len(".pb")]
    assert export.atc_command(biggan_pb) == (
        f"atc --model={biggan_pb} --framework=3 --output={stem} --soc_version=Ascend310 "
        "--input_shape=\"z:2,120;y:2\" --log=info --out_nodes=\"output:0\""
    )
