"""Datasheet quantities: "512 KiB", "1 MB", "480 MHz" -> integers, and the errors that name the key."""

from __future__ import annotations

import pytest

from edge_bench.config import load_target
from edge_bench.errors import InputError
from edge_bench.units import parse_bytes, parse_hz

WHERE = "t.toml: key 'mcu.sram_bytes'"


@pytest.mark.parametrize(
    "value, expected",
    [
        (1048576, 1048576),
        ("1048576", 1048576),
        ("300 B", 300),
        ("512 kB", 512_000),
        ("1 MB", 1_000_000),
        ("1 GB", 1_000_000_000),
        ("2 MiB", 2 * 1024 * 1024),
        ("2MiB", 2 * 1024 * 1024),
        ("1.5 KiB", 1536),
        ("  64 KiB ", 65536),
        ("0.5 GiB", 512 * 1024 * 1024),
    ],
)
def test_parse_bytes_accepts_si_and_iec(value, expected):
    assert parse_bytes(value, WHERE) == expected


@pytest.mark.parametrize("value", ["512 KB", "512K", "512 k", "2 M", "1 G"])
def test_parse_bytes_refuses_ambiguous_units_and_suggests_both(value):
    with pytest.raises(InputError) as error:
        parse_bytes(value, WHERE)
    message = str(error.value)
    assert WHERE in message and "ambiguous" in message
    assert "iB" in message and "(1000-based)" in message


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("1.0001 KiB", "whole number of bytes"),
        ("5 XB", "unknown unit 'XB'"),
        ("lots", "must be an integer number of bytes"),
        ("-3 KiB", "must be an integer number of bytes"),
        (0, "> 0"),
        ("0 MiB", "> 0"),
        (-1, "> 0"),
        (True, "must be an integer number of bytes"),
        (1.5, "must be an integer number of bytes"),
    ],
)
def test_parse_bytes_errors_name_the_key_and_the_forms(value, fragment):
    with pytest.raises(InputError) as error:
        parse_bytes(value, WHERE)
    assert WHERE in str(error.value)
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    "value, expected",
    [
        (480_000_000, 480_000_000),
        ("480 MHz", 480_000_000),
        ("240MHz", 240_000_000),
        ("1.2 GHz", 1_200_000_000),
        ("32.768 kHz", 32_768),
        ("64 mhz", 64_000_000),
        ("100 Hz", 100),
        ("8000000", 8_000_000),
    ],
)
def test_parse_hz(value, expected):
    assert parse_hz(value, "k") == expected


@pytest.mark.parametrize(
    "value, fragment",
    [("480 MB", "unknown unit"), ("0 MHz", "> 0"), ("fast", "such as"), ("0.5 Hz", "whole number"), (2.5e8, "such as")],
)
def test_parse_hz_errors(value, fragment):
    with pytest.raises(InputError) as error:
        parse_hz(value, "t.toml: key 'mcu.clock_hz'")
    assert "mcu.clock_hz" in str(error.value) and fragment in str(error.value)


def test_target_file_budgets_go_through_the_parsers(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text(
        'description = "a board"\nkind = "mcu"\nthreads = 1\n'
        '[mcu]\nsram_bytes = "320 KiB"\nflash_bytes = "1 MB"\nclock_hz = "64 MHz"\ncore = "cortex-m4"\n'
    )
    mcu = load_target(str(path)).mcu
    assert (mcu.sram_bytes, mcu.flash_bytes, mcu.clock_hz) == (320 * 1024, 1_000_000, 64_000_000)
    path.write_text('description = "a board"\nkind = "mcu"\nthreads = 1\n[mcu]\nsram_bytes = "320 KB"\n')
    with pytest.raises(InputError) as error:
        load_target(str(path))
    assert str(path) in str(error.value) and "mcu.sram_bytes" in str(error.value)
