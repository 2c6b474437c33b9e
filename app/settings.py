"""The one settings object: every field has a description, a CLI flag and an environment
variable (STRATEGISOK_<NAME>); unknown STRATEGISOK_* variables are rejected, not ignored."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from index import DEFAULT_MODEL, IndexConfig
from index.location import is_database_url


class SettingsError(Exception):
    """A setting has a value that cannot be used; the message names it."""


def _setting(default, help: str, flag: str):
    return field(default=default, metadata={"help": help, "flag": flag})


@dataclass(frozen=True)
class Settings:
    corpus: Path = _setting(
        Path("corpus"), "Mappen med dokumenten som ska indexeras.", "CORPUS_DIR"
    )
    index_dir: Path = _setting(Path(".strategisok"), "Mappen där indexet sparas.", "--index-dir")
    database_url: str | None = _setting(
        None,
        "PostgreSQL-databas med pgvector där indexet ligger i stället för i indexmappen: "
        "postgresql://ANVÄNDARE:LÖSENORD@VÄRD:PORT/DATABAS.",
        "--database",
    )
    model: str = _setting(
        DEFAULT_MODEL,
        "Embeddingmodell (standard: multilingual-e5-small, som läser svenska; "
        "strategisok-sv-static är vår snabba svenska modell, bundled:all-MiniLM-L6-v2 den "
        "engelska medföljande), eller lokal mapp med en sentence-transformers-modell.",
        "--model",
    )
    device: str = _setting("cpu", "Beräkningsenhet för modellen: cpu eller cuda.", "--device")
    batch_size: int = _setting(64, "Antal textavsnitt per embeddingomgång.", "--batch-size")
    chunk_tokens: int | None = _setting(
        None,
        "Största textavsnitt i modellens token (standard: modellens fönster minus rubrikrad).",
        "--chunk-tokens",
    )
    overlap_tokens: int = _setting(
        32, "Överlapp mellan på varandra följande avsnitt, i token.", "--overlap-tokens"
    )
    pdf_timeout: float = _setting(
        30.0,
        "Längsta tid i sekunder som en PDF får ta att läsa; en fil som tar längre rapporteras "
        "som oläslig.",
        "--pdf-timeout",
    )
    pdf_memory_mb: int = _setting(
        1024,
        "Mest minne (MB) som PDF-läsaren får använda för en fil; 0 betyder ingen gräns.",
        "--pdf-memory-mb",
    )
    ocr: bool = _setting(
        True,
        "Läs inskannade PDF-sidor (utan textlager) med OCR (Tesseract, svensk modell); "
        "STRATEGISOK_OCR=0 eller --no-ocr stänger av det.",
        "--no-ocr",
    )

    def __post_init__(self) -> None:
        if self.database_url is not None and not is_database_url(self.database_url):
            raise SettingsError(
                f"database_url={_without_password(self.database_url)!r}: skriv adressen som "
                "postgresql://ANVÄNDARE:LÖSENORD@VÄRD:PORT/DATABAS."
            )
        if not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise SettingsError(f"device={self.device!r}: välj cpu eller cuda (t.ex. cuda:0).")
        if self.batch_size < 1:
            raise SettingsError(f"batch_size={self.batch_size}: måste vara minst 1.")
        if self.chunk_tokens is not None and self.chunk_tokens < 32:
            raise SettingsError(f"chunk_tokens={self.chunk_tokens}: måste vara minst 32.")
        if self.overlap_tokens < 0:
            raise SettingsError(f"overlap_tokens={self.overlap_tokens}: får inte vara negativt.")
        if not self.pdf_timeout > 0:
            raise SettingsError(f"pdf_timeout={self.pdf_timeout}: måste vara större än 0.")
        if self.pdf_memory_mb != 0 and self.pdf_memory_mb < 128:
            raise SettingsError(
                f"pdf_memory_mb={self.pdf_memory_mb}: måste vara minst 128 (eller 0 för ingen "
                "gräns)."
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Defaults overridden by STRATEGISOK_* variables. Raises SettingsError for an
        unknown variable or a value of the wrong type."""
        environ = os.environ if environ is None else environ
        known = {f"STRATEGISOK_{f.name.upper()}": f for f in fields(cls)}
        values = {}
        for name, raw in environ.items():
            if not name.startswith("STRATEGISOK_"):
                continue
            spec = known.get(name)
            if spec is None:
                raise SettingsError(
                    f"Okänd miljövariabel {name}. Kända: {', '.join(sorted(known))}."
                )
            values[spec.name] = _convert(name, spec, raw)
        return cls(**values)

    def with_overrides(self, **overrides) -> Settings:
        """A copy with the CLI's values (None means: not given) laid over this one."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def index_location(self) -> Path | str:
        """Where the index lives: the database when one is set, else the index folder."""
        return self.database_url or self.index_dir

    def index_config(self) -> IndexConfig:
        return IndexConfig(
            model=self.model,
            device=self.device,
            batch_size=self.batch_size,
            chunk_tokens=self.chunk_tokens,
            overlap_tokens=self.overlap_tokens,
            pdf_timeout_s=self.pdf_timeout,
            pdf_memory_mb=self.pdf_memory_mb,
        )


def _without_password(url: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1…@", url)


def _convert(name: str, spec, raw: str):
    kind = spec.type if isinstance(spec.type, str) else spec.type.__name__
    if kind == "bool":
        if raw.strip().casefold() in ("1", "true", "yes", "ja", "on"):
            return True
        if raw.strip().casefold() in ("0", "false", "no", "nej", "off"):
            return False
        raise SettingsError(f"{name}={raw!r} ska vara 1 (på) eller 0 (av).")
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
    except ValueError as exc:
        what = "ett tal" if kind == "float" else "ett heltal"
        raise SettingsError(f"{name}={raw!r} ska vara {what}.") from exc
    return raw
