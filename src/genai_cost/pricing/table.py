"""PricingTable: layered price entries and the cached model -> entry lookup.

Layers, later winning: the bundled ``data/prices.json`` < pricing files (in order) < entries
given in code. A later layer replaces the entry with the same id and may add new ones; when
entries of different layers tie in precedence, the later layer's wins.

Lookup of ``(model, provider)``, computed once and cached (bounded in entries and, since only
names of up to ``MAX_MODEL_NAME_LENGTH`` characters are cached, in bytes), then filtered by date:

1. Names to try come from :func:`~genai_cost.pricing.normalize.candidate_names`.
2. Providers are searched in groups: the requested provider's entries, then generic entries
   (no provider), then the providers it falls back to (Azure OpenAI -> OpenAI; Bedrock ->
   Anthropic; Vertex AI -> Gemini, Anthropic; OpenRouter ``vendor/model`` -> the vendor with
   ``model``). With no provider (or one not known), generic entries come first, then every
   provider's entries, best match first, ties broken by ``PROVIDER_ORDER``.
3. Within a group, the first name with any match wins; matches rank exact > longer prefix >
   shorter prefix > regex; entries with ``strip_date_suffix`` also match the name without its
   date suffix.
4. At call time the first candidate whose ``valid_from`` is not after the call time is used
   (newest first within one rank). A call before every ``valid_from`` of the candidates is not
   priced: there is no backfill.
5. An entry with time-of-day prices is priced by the window containing the call's start.
6. A pricing context selects the entry's variants (``PriceEntry.for_call``) only when the
   entry is the provider's own (or generic): an entry found through a fallback provider (Azure
   OpenAI -> OpenAI) is priced at its standard prices, as genai-prices does, since one
   provider's service tiers are not another's.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from genai_cost._fork import fork_safe_lock
from genai_cost.config import get_settings
from genai_cost.pricing.calculate import CostBreakdown, calculate, epoch_seconds
from genai_cost.pricing.documents import Layer, read_layer
from genai_cost.pricing.errors import PricingError
from genai_cost.pricing.loader import check_layer, split_table
from genai_cost.pricing.match import (
    EXACT_RANK,
    MAX_NAME_LENGTH,
    PREFIX_RANK,
    REGEX_RANK,
    Clause,
    Exact,
    Prefix,
    Regex,
    parse_match,
)
from genai_cost.pricing.normalize import MAX_MODEL_NAME_LENGTH, candidate_names, strip_date_suffix
from genai_cost.pricing.provenance import CODE, Provenance, bundled_provenance, table_version
from genai_cost.pricing.providers import (
    FALLBACKS,
    PROVIDER_ORDER,
    VENDOR_PREFIXES,
    canonical_provider,
)
from genai_cost.pricing.schema import PriceEntry, PricingContext, parse_entry
from genai_cost.semconv import Provider
from genai_cost.usage import Usage

__all__ = ["BUNDLED_PATH", "CACHE_SIZE", "PricingTable", "default_generated_at"]

logger = logging.getLogger(__name__)

BUNDLED_PATH = os.path.join(os.path.dirname(__file__), "data", "prices.json")
"""The generated default table."""
CACHE_SIZE = 4096
"""Distinct (provider, model) lookups remembered per table; the oldest is dropped beyond it.

Only names of up to :data:`~genai_cost.pricing.normalize.MAX_MODEL_NAME_LENGTH` characters are
remembered, so the cache holds at most about 1 MB of names.
"""

_ALWAYS = -math.inf
_Candidates = tuple[tuple[float, PriceEntry], ...]
_Rank = tuple[int, int]


class _Slot:
    """One entry of a bucket; a bundled one is parsed the first time a lookup hits it.

    Decoding a provider's block parses only the match clauses (to index them): parsing all
    109 OpenAI entries took ~4 ms of the first lookup, where one or two are used.
    """

    __slots__ = ("_entry", "_raw")

    def __init__(self, entry: PriceEntry | None = None, raw: Mapping[str, object] | None = None) -> None:
        self._entry = entry
        self._raw = raw

    def get(self) -> PriceEntry:
        entry = self._entry
        if entry is None:  # two threads may both parse it: the results are equal
            entry = self._entry = parse_entry(self._raw, check_regex=False)
        return entry


class _RegexIndex:
    """Regexes filed by a text every match contains, so a lookup runs only those that can match.

    A regex whose matches all start with a text (``claude-`` of ``claude-\\d+``) is filed under
    it, and found by the name's own start, as prefix entries are. Another is filed under one
    piece (three characters, or a shorter whole text) of a text its matches contain
    (``.*amazon\\.nova.*``): the piece that the fewest regexes contain; it is found by the
    pieces of the name. A regex with neither (``.*``) is always a candidate. Candidates come
    back in filing order, so ties resolve exactly as a scan of every regex would.
    """

    __slots__ = ("_by_leading", "_by_piece", "_leading_lengths", "_piece_lengths", "_sharing", "_unfiled", "size")

    def __init__(self) -> None:
        self._by_leading: dict[str, list[int]] = {}
        self._leading_lengths: set[int] = set()
        self._by_piece: dict[str, list[int]] = {}
        self._piece_lengths: set[int] = set()
        self._sharing: dict[str, int] = {}
        """How many regexes (filed by piece) contain each piece."""
        self._unfiled: list[int] = []
        self.size = 0
        """How many regexes are filed (positions ``0`` to ``size - 1``)."""

    def add(self, regexes: Sequence[Regex]) -> None:
        """File the next ``regexes`` (positions from :attr:`size` on)."""
        by_piece: list[tuple[int, tuple[str, ...]]] = []
        for position, regex in enumerate(regexes, start=self.size):
            literals = regex.literals()
            if literals.leading:
                self._by_leading.setdefault(literals.leading, []).append(position)
                self._leading_lengths.add(len(literals.leading))
            elif pieces := _pieces(literals.inner):
                by_piece.append((position, pieces))
                for piece in pieces:
                    self._sharing[piece] = self._sharing.get(piece, 0) + 1
            else:
                self._unfiled.append(position)
        for position, pieces in by_piece:
            rarest = min(pieces, key=self._sharing.__getitem__)
            self._by_piece.setdefault(rarest, []).append(position)
            self._piece_lengths.add(len(rarest))
        self.size += len(regexes)

    def candidates(self, name: str) -> list[int]:
        """Positions of the regexes that may match the lowercased ``name``, in order."""
        if not name.isascii():
            name = name.translate(_CASE_FOLDS)
        found = list(self._unfiled)
        for length in self._leading_lengths:
            if length <= len(name):
                found.extend(self._by_leading.get(name[:length], ()))
        for length in self._piece_lengths:
            for piece in {name[start : start + length] for start in range(len(name) - length + 1)}:
                found.extend(self._by_piece.get(piece, ()))
        found.sort()
        return found


_PIECE = 3
_CASE_FOLDS = str.maketrans({"\u0131": "i", "\u017f": "s"})
"""Lowercase letters that a case-insensitive regex matches with an ASCII letter (dotless i, long s)."""


def _pieces(texts: tuple[str, ...]) -> tuple[str, ...]:
    if any(len(text) >= _PIECE for text in texts):
        grams = (text[start : start + _PIECE] for text in texts for start in range(len(text) - _PIECE + 1))
        return tuple(dict.fromkeys(grams))
    return tuple(dict.fromkeys(texts))


class _Bucket:
    """The entries of one provider (or of no provider), indexed by clause kind."""

    __slots__ = ("_regex_index", "entries", "exact", "prefix", "prefix_lengths", "regex")

    def __init__(self) -> None:
        self.entries: list[_Slot] = []
        self.exact: dict[str, list[_Slot]] = {}
        self.prefix: dict[str, list[_Slot]] = {}
        self.prefix_lengths: list[int] = []
        """Distinct prefix lengths, longest first."""
        self.regex: list[tuple[Regex, _Slot]] = []
        self._regex_index = _RegexIndex()

    def add(self, entry: PriceEntry) -> None:
        self._index(entry.match, _Slot(entry))

    def add_bundled(self, raw: Mapping[str, object]) -> None:
        """A bundled entry (generated and validated by ``sync``), parsed when first hit."""
        self._index(parse_match(raw["match"], check=False), _Slot(raw=raw))

    def _index(self, clause: Clause, slot: _Slot) -> None:
        self.entries.append(slot)
        for leaf in clause.leaves():
            if isinstance(leaf, Exact):
                self.exact.setdefault(leaf.value, []).append(slot)
            elif isinstance(leaf, Prefix):
                self.prefix.setdefault(leaf.value, []).append(slot)
                if len(leaf.value) not in self.prefix_lengths:
                    self.prefix_lengths.append(len(leaf.value))
                    self.prefix_lengths.sort(reverse=True)
            else:
                self.regex.append((leaf, slot))

    def hits(self, name: str) -> list[tuple[_Rank, PriceEntry]]:
        """Entries matching ``name``, most specific first.

        Stops as soon as a hit without ``valid_from`` is found: it prices every call, so the
        less specific entries after it could never be used (and their regexes need not run).
        """
        found = [((EXACT_RANK, 0), slot.get()) for slot in self.exact.get(name, ())]
        if _settled(found):
            return found
        for length in self.prefix_lengths:
            if length <= len(name):
                found.extend(((PREFIX_RANK, length), slot.get()) for slot in self.prefix.get(name[:length], ()))
                if _settled(found):
                    return found
        found.extend(
            ((REGEX_RANK, 0), slot.get()) for clause, slot in self._regex_candidates(name) if clause.is_match(name)
        )
        return found

    def file_regexes(self) -> None:
        """Index the regexes added since the last call; before the bucket is searched."""
        index = self._regex_index
        index.add([clause for clause, _ in self.regex[index.size :]])

    def _regex_candidates(self, name: str) -> list[tuple[Regex, _Slot]]:
        if len(name) > MAX_NAME_LENGTH:  # regexes never run on such names
            return []
        return [self.regex[position] for position in self._regex_index.candidates(name)]


def _settled(hits: list[tuple[_Rank, PriceEntry]]) -> bool:
    return any(entry.valid_from is None for _, entry in hits)


class PricingTable:
    """Price entries by model name and provider; build with :meth:`default` or :meth:`load`.

    Calls are priced through :meth:`match_epoch`; a subclass that overrides :meth:`match`
    alone (a lookup of its own) is asked through its :meth:`match` instead.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "match" in cls.__dict__ and "match_epoch" not in cls.__dict__:
            cls.match_epoch = _match_epoch_through_match  # type: ignore[method-assign,assignment]

    def __init__(
        self,
        layers: Sequence[Sequence[PriceEntry]],
        *,
        bundled: Mapping[str | None, bytes] | None = None,
        aliases: Mapping[str, str] | None = None,
        provenance: Sequence[Provenance] = (),
        generated_at: datetime | None = None,
    ) -> None:
        """A table from validated layers (later layers win); prefer :meth:`load`.

        ``bundled`` holds the bundled entries by provider (undecoded JSON arrays), below every
        layer; a provider's entries are decoded the first time it is searched. ``provenance``
        names the sources bottom first (the bundled one included), ``generated_at`` when the
        table's prices were made (see :attr:`generated_at`).
        """
        self.provenance = tuple(provenance)
        """Where each layer came from, bottom first."""
        self.version = table_version(self.provenance) or "unnamed"
        """Which prices these are: each source with its ``generated_at``, ETag or digest."""
        self.generated_at = generated_at
        """When the prices of the table's base (the bundled table, or the refreshed source
        above it) were made; ``None`` if unknown. ``genai_cost.pricing.age`` counts from it."""
        by_id: dict[str, tuple[int, PriceEntry]] = {}
        for number, layer in enumerate(layers, start=1):
            for entry in layer:
                by_id.pop(entry.id, None)
                by_id[entry.id] = (number, entry)
        self._layer = {entry_id: number for entry_id, (number, _) in by_id.items()}
        self._buckets: dict[str | None, _Bucket] = {}
        for _, entry in by_id.values():
            self._buckets.setdefault(entry.provider, _Bucket()).add(entry)
        for bucket in self._buckets.values():  # now, not in a lookup: a file may hold thousands
            bucket.file_regexes()
        self._pending = dict(bundled or {})
        self._decoded: set[str | None] = set()
        """Providers whose bundled entries were decoded."""
        self._aliases = {k.strip().lower(): v for k, v in (aliases or {}).items()}
        self._cache: dict[tuple[str | None, str], _Candidates] = {}
        self._lock = fork_safe_lock(self)

    # --- construction -------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        *,
        files: Iterable[str | os.PathLike[str]] = (),
        entries: Iterable[PriceEntry | Mapping[str, object]] = (),
        include_bundled: bool = True,
        aliases: Mapping[str, str] | None = None,
    ) -> PricingTable:
        """Layer bundled < ``files`` (in order) < ``entries``; raises :class:`PricingError`."""
        layers = [read_layer(os.fspath(path), genai_prices=False) for path in files]
        code = check_layer(entries, source=CODE)
        if code:
            layers.append(Layer(tuple(code), Provenance(CODE)))
        base = bundled_provenance() if include_bundled else None
        return cls.of_layers(layers, bundled=base is not None, aliases=aliases)

    @classmethod
    def of_layers(
        cls,
        layers: Sequence[Layer],
        *,
        bundled: bool = True,
        aliases: Mapping[str, str] | None = None,
        generated_at: datetime | None = None,
    ) -> PricingTable:
        """A table of validated layers (later ones win) over the bundled table (unless ``bundled``
        is false); dated by ``generated_at``, else by the bundled table's."""
        provenance = [layer.provenance for layer in layers]
        if bundled:
            base = bundled_provenance()
            provenance.insert(0, base)
            generated_at = generated_at or base.dated
        return cls(
            [layer.entries for layer in layers],
            bundled=_bundled_blocks() if bundled else None,
            aliases=aliases,
            provenance=provenance,
            generated_at=generated_at,
        )

    @classmethod
    def default(cls) -> PricingTable:
        """The process-wide table from the bundled data, settings' files and aliases.

        Built once, thread-safely, when instrumentation is set up (or on first use). A bad
        pricing file raises :class:`PricingError` when ``GENAI_COST_STRICT`` is set; otherwise
        one warning is logged and the bundled table is used alone. With
        ``GENAI_COST_PRICING_URL`` set, building it starts the refresher
        (:mod:`~genai_cost.pricing.refresh`), which replaces it (atomically) whenever the source
        brings new valid prices: read it through this method rather than keeping it.
        """
        return _default_table()

    # --- lookup -------------------------------------------------------------------------

    def match(
        self,
        model: str,
        provider: str | None = None,
        at: datetime | None = None,
        context: PricingContext | None = None,
    ) -> PriceEntry | None:
        """The prices of ``model`` at ``provider`` for a call starting at ``at`` (default: now)
        in the request ``context`` (``{"service_tier": "flex"}``): the entry with its
        time-of-day window and its variants for ``context`` applied."""
        # This class's lookup, not self.match_epoch: a subclass's match that calls this one is
        # what its match_epoch asks (see __init_subclass__).
        return PricingTable.match_epoch(self, model, provider, epoch_seconds(at), context)

    def match_epoch(
        self, model: str, provider: str | None, when: float, context: PricingContext | None = None
    ) -> PriceEntry | None:
        """:meth:`match` for a call starting ``when`` seconds after the epoch (as span times count),
        without a ``datetime`` per call."""
        entry = self._entry_at(model, provider, when)
        if entry is not None and (entry.time_of_day or (context and entry.variants)):
            return entry.for_call(context if _is_own(entry, provider) else None, when)
        return entry

    def entry(self, model: str, provider: str | None = None, at: datetime | None = None) -> PriceEntry | None:
        """The entry as written (variants and time-of-day windows not applied) that prices
        ``model`` at ``provider`` for a call at ``at`` (default: now)."""
        return self._entry_at(model, provider, epoch_seconds(at))

    def _entry_at(self, model: str, provider: str | None, when: float) -> PriceEntry | None:
        key = (provider, model)
        candidates = self._cache.get(key)
        if candidates is None:
            candidates = self._candidates(model, provider)
            if len(model) <= MAX_MODEL_NAME_LENGTH:  # a longer name is looked up again, never kept
                self._remember(key, candidates)
        for valid_from, entry in candidates:
            if valid_from <= when:
                return entry
        return None

    def cost(
        self,
        usage: Usage,
        model: str,
        provider: str | None = None,
        at: datetime | None = None,
        context: PricingContext | None = None,
    ) -> CostBreakdown | None:
        """The cost of ``usage`` for ``model`` in ``context``; ``None`` when no entry prices the model."""
        entry = self.match(model, provider, at, context)
        return None if entry is None else calculate(usage, entry)

    @property
    def entries(self) -> tuple[PriceEntry, ...]:
        """Every entry in force, by provider (unnamed provider first), then layer."""
        for provider in list(self._pending):
            self._bucket(provider)
        order = {provider: i for i, provider in enumerate((None, *PROVIDER_ORDER))}
        buckets = sorted(self._buckets.items(), key=lambda item: order[item[0]])
        return tuple(
            entry
            for _, bucket in buckets
            for entry in sorted((slot.get() for slot in bucket.entries), key=lambda e: self._layer.get(e.id, 0))
        )

    def __len__(self) -> int:
        return len(self.entries)

    def prepare(self, providers: Iterable[str]) -> None:
        """Decode now the bundled entries that lookups for ``providers`` search (their own, the
        generic ones and those of the providers they fall back to), so that no call does."""
        for provider in providers:
            for group, _ in _search_plan(canonical_provider(provider) or provider, ("",)):
                for name in group:
                    self._bucket(name)

    def warm_like(self, other: PricingTable) -> None:
        """Prepare what ``other`` has prepared: the providers it decoded and the lookups it
        cached. A table that replaces ``other`` then serves its first calls as warm as it did."""
        for provider in list(other._decoded):
            self._bucket(provider)
        for provider, model in list(other._cache):
            self._remember((provider, model), self._candidates(model, provider))

    # --- internals ----------------------------------------------------------------------

    def _bucket(self, provider: str | None) -> _Bucket | None:
        """The entries of one provider, decoding its bundled entries on first use.

        While anything is pending, lookups take the lock, so no thread sees a bucket that
        another thread is still filling.
        """
        if self._pending:
            with self._lock:
                block = self._pending.pop(provider, None)
                if block is not None:
                    self._decoded.add(provider)
                    bucket = self._buckets.setdefault(provider, _Bucket())
                    for raw in json.loads(block):
                        if raw["id"] not in self._layer:
                            bucket.add_bundled(raw)
                    bucket.file_regexes()
        return self._buckets.get(provider)

    def _remember(self, key: tuple[str | None, str], candidates: _Candidates) -> None:
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = candidates

    def _candidates(self, model: str, provider: str | None) -> _Candidates:
        names = candidate_names(model, self._aliases)
        found: dict[str, PriceEntry] = {}
        for providers, group_names in _search_plan(canonical_provider(provider), names):
            hits = self._group_hits(providers, group_names)
            for entry in hits:
                found.setdefault(entry.id, entry)
            if any(entry.valid_from is None for entry in hits):
                break
        return tuple((_ALWAYS if e.valid_from is None else e.valid_from.timestamp(), e) for e in found.values())

    def _group_hits(self, providers: Sequence[str | None], names: Sequence[str]) -> list[PriceEntry]:
        """Matches of the first name that has any, best first."""
        buckets = [
            (position, bucket)
            for position, provider in enumerate(providers)
            if (bucket := self._bucket(provider)) is not None
        ]
        for name in names:
            ranked = [
                (rank, position, entry) for position, bucket in buckets for rank, entry in _bucket_hits(bucket, name)
            ]
            if ranked:
                ranked.sort(key=lambda hit: self._precedence(*hit))
                return [entry for _, _, entry in ranked]
        return []

    def _precedence(self, rank: _Rank, position: int, entry: PriceEntry) -> tuple[float, ...]:
        valid_from = _ALWAYS if entry.valid_from is None else entry.valid_from.timestamp()
        return (-rank[0], -rank[1], position, -valid_from, -self._layer.get(entry.id, 0))


def _is_own(entry: PriceEntry, provider: str | None) -> bool:
    """Whether ``entry`` is ``provider``'s own price (not one of a provider it falls back to)."""
    return provider is None or entry.provider is None or entry.provider == canonical_provider(provider)


def _bucket_hits(bucket: _Bucket, name: str) -> list[tuple[_Rank, PriceEntry]]:
    hits = bucket.hits(name)
    if hits:
        return hits
    undated = strip_date_suffix(name)
    if undated == name:
        return []
    return [(rank, entry) for rank, entry in bucket.hits(undated) if entry.strip_date_suffix]


def _match_epoch_through_match(
    table: PricingTable, model: str, provider: str | None, when: float, context: PricingContext | None = None
) -> PriceEntry | None:
    """:meth:`PricingTable.match_epoch` of a subclass that overrides ``match`` alone (its ``match``
    may predate the ``context`` argument: it is passed only when there is one)."""
    at = datetime.fromtimestamp(when, timezone.utc)
    return table.match(model, provider, at) if context is None else table.match(model, provider, at, context)


def _search_plan(provider: str | None, names: tuple[str, ...]) -> list[tuple[Sequence[str | None], tuple[str, ...]]]:
    """(providers searched together, names to try) groups, in precedence order."""
    if provider is None:
        return [((None,), names), (PROVIDER_ORDER, names)]
    plan: list[tuple[Sequence[str | None], tuple[str, ...]]] = [
        ((provider,), names),
        ((None,), names),
    ]
    plan.extend(((fallback,), names) for fallback in FALLBACKS.get(provider, ()))
    if provider == Provider.OPENROUTER:
        vendor, slash, rest = names[0].partition("/")
        if slash and vendor in VENDOR_PREFIXES:
            plan.append(((VENDOR_PREFIXES[vendor],), candidate_names(rest, {})))
    return plan


@functools.lru_cache(maxsize=1)
def _bundled_blocks() -> dict[str | None, bytes]:
    """The bundled entries by provider, undecoded, read once per process.

    The file is generated and validated by ``sync`` (and a test): entries are decoded per
    provider on first use, without the regex screening.
    """
    with open(BUNDLED_PATH, "rb") as file:
        blocks = split_table(file.read())
    if blocks is None:
        raise PricingError(
            "not in the generated layout; regenerate it with `genai-cost pricing sync`",
            source=BUNDLED_PATH,
        )
    return blocks


_default_lock = fork_safe_lock(sys.modules[__name__], "_default_lock")
_default: list[PricingTable] = []


def default_generated_at() -> datetime | None:
    """When the process-wide table's prices were made (the bundled table's date before it is built)."""
    return _default[0].generated_at if _default else bundled_provenance().dated


def _default_table() -> PricingTable:
    if _default:
        return _default[0]
    with _default_lock:
        if not _default:
            _default.append(_build_default())
    return _default[0]


def _build_default() -> PricingTable:
    settings = get_settings()
    try:
        files = [read_layer(path, genai_prices=False) for path in settings.pricing_files]
    except PricingError as exc:
        if settings.strict:
            raise
        logger.warning("genai-cost: ignoring pricing files, using the bundled table: %s", exc)
        files = []
    table = PricingTable.of_layers(files, aliases=settings.model_aliases)
    if settings.pricing_url is not None:
        from genai_cost.pricing import refresh

        rebuild = _DefaultRebuild(files, settings.model_aliases)
        refresh.start(settings.pricing_url, interval=settings.pricing_refresh, rebuild=rebuild)
    return table


class _DefaultRebuild:
    """Makes and installs the process-wide table with a refreshed layer (for the refresher)."""

    def __init__(self, files: Sequence[Layer], aliases: Mapping[str, str]) -> None:
        self._files = list(files)
        self._aliases = aliases
        self._holder = _default  # the list in use now (tests swap in their own)

    def __call__(self, refreshed: Layer) -> PricingTable:
        """Install ``refreshed`` between the bundled table and the pricing files; the table replaced
        is the one in use, so the new one is warmed like it before anyone sees it."""
        table = PricingTable.of_layers(
            [refreshed, *self._files], aliases=self._aliases, generated_at=refreshed.provenance.dated
        )
        holder = self._holder
        current = holder[0] if holder else None
        if current is not None:
            table.warm_like(current)
        with _default_lock:  # one item assignment: a reader sees the old table or the new one
            if holder:
                holder[0] = table
            else:
                holder.append(table)
        return table
