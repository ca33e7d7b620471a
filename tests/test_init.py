"""The top-level package re-exports every public name it lists."""

import transconv


def test_every_listed_name_is_importable_from_the_top_level() -> None:
    missing = [name for name in transconv.__all__ if not hasattr(transconv, name)]
    assert missing == []


def test_top_level_names_are_the_module_objects() -> None:
    from transconv.reference import conv_transpose2d
    from transconv.train import predict

    assert transconv.conv_transpose2d is conv_transpose2d
    assert transconv.predict is predict


def test_transconv_train_stays_the_module() -> None:
    import types

    assert isinstance(transconv.train, types.ModuleType)
    assert callable(transconv.train.train)
