"""The examples in the docstrings run, and say what pairdist returns."""

import doctest

import pairdist


def test_docstring_examples():
    result = doctest.testmod(pairdist, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10
    assert result.failed == 0


def test_every_public_function_is_documented():
    for name in pairdist.__all__:
        obj = getattr(pairdist, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 80, name
    for name in ("cdist", "pdist", "knn", "radius"):
        assert "Parameters" in getattr(pairdist.Engine, name).__doc__


def test_dask_docstring_example():
    import pairdist.dask

    result = doctest.testmod(pairdist.dask)
    assert result.attempted >= 3 and result.failed == 0
