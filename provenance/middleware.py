"""`track`: record every sample a function returns or yields, and hand it back unchanged.

    recorder = Recorder(ledger)

    @track(recorder, model="tiny-lm", params=("temperature",))
    def generate(prompt: str, temperature: float = 0.7, seed: int | None = None) -> dict: ...

Each sample becomes one `generated` record naming the generator (name, provider, model,
version, and the parameters picked from the call's arguments, defaults applied), the seed, the
prompt's digest, parents, sources and origin. Sync and async functions, batch functions
(`batch=True`: a list out, one append for the list) and sync and async generators (each sample
recorded before it is handed on) are all wrapped the same way. When the function raises,
what it handed back before is recorded (a buffered recorder flushes before the error goes on)
and nothing else is. A bad sample raises InputError naming the field; nothing is recorded for it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Sequence
from collections.abc import Generator as SyncGenerator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from synthguard.provenance.canonical import canonical_json, digest_json, json_copy
from synthguard.provenance.errors import InputError
from synthguard.provenance.record import Generator, Origin, Source
from synthguard.provenance.recorder import Item, Recorder, as_sources, unknown_depth
from synthguard.provenance.sample import FieldMapping, Sample, as_sample, parent_id

F = TypeVar("F", bound=Callable[..., Any])

_NOT_GIVEN = object()
_CACHE_LIMIT = 1024
# The first parameter of a method is its object, not its inputs.
_SELF_NAMES = ("self", "cls")


def track(
    recorder: Recorder,
    *,
    name: str | None = None,
    generator: Generator | None = None,
    provider: str | None = None,
    model: str | None = None,
    version: str | None = None,
    params: Sequence[str] | str = (),
    model_arg: str | None = None,
    seed_arg: str | None = "seed",
    prompt_arg: str | None = "prompt",
    parents_arg: str | None = "parents",
    sources_arg: str | None = "sources",
    origin: Origin | str = Origin.SYNTHETIC,
    batch: bool = False,
    parents_from_inputs: bool = False,
    mapping: FieldMapping | None = None,
    inputs_arg: str | None = None,
) -> Callable[[F], F]:
    """Wrap a function so that every sample it returns or yields is recorded by `recorder`.

    Identity: `generator=`, or one built from `name` (default: the function's qualified name),
    `provider`, `model` (or the argument named `model_arg`), `version`, and the arguments named
    in `params`. The seed, prompt, parents and sources come from the arguments so named, when
    the function has them (set a name to None to ignore it). With `batch=True` the function
    returns (or yields) lists; `parents_from_inputs=True` makes item i of the argument
    `inputs_arg` (default: the first) the parent of output i (ids, Samples, rows, or strings:
    a string that is not a sample id is the text sample `{"text": ...}`). `mapping` says
    which fields of a returned row hold the sample.
    """

    def decorate(function: F) -> F:
        plan = _Plan(
            recorder,
            function,
            name=name,
            generator=generator,
            provider=provider,
            model=model,
            version=version,
            params=(params,) if isinstance(params, str) else tuple(params),
            model_arg=model_arg,
            seed_arg=seed_arg,
            prompt_arg=prompt_arg,
            parents_arg=parents_arg,
            sources_arg=sources_arg,
            origin=origin,
            batch=batch,
            parents_from_inputs=parents_from_inputs,
            mapping=mapping or recorder.mapping,
            inputs_arg=inputs_arg,
        )
        if inspect.isasyncgenfunction(function):
            wrapper: Callable[..., Any] = _async_generator(plan)
        elif inspect.iscoroutinefunction(function):
            wrapper = _async_function(plan)
        elif inspect.isgeneratorfunction(function):
            wrapper = _sync_generator(plan)
        else:
            wrapper = _sync_function(plan)
        functools.update_wrapper(wrapper, function)
        return cast(F, wrapper)

    return decorate


@dataclass(frozen=True, slots=True)
class _Call:
    """What one call of a tracked function records with."""

    generator: Generator
    seed: int | None
    prompt_digest: str | None
    parents: list[str]
    sources: list[Source]
    inputs: list[str] | None


class _Plan:
    """A tracked function, and how its calls turn into records (checked once, at decoration)."""

    def __init__(
        self,
        recorder: Recorder,
        function: Callable[..., Any],
        *,
        name: str | None,
        generator: Generator | None,
        provider: str | None,
        model: str | None,
        version: str | None,
        params: tuple[str, ...],
        model_arg: str | None,
        seed_arg: str | None,
        prompt_arg: str | None,
        parents_arg: str | None,
        sources_arg: str | None,
        origin: Origin | str,
        batch: bool,
        parents_from_inputs: bool,
        mapping: FieldMapping,
        inputs_arg: str | None,
    ) -> None:
        self.recorder = recorder
        self.function = function
        self.qualname: str = getattr(function, "__qualname__", None) or repr(function)
        self.batch = batch
        self.mapping = mapping
        try:
            self.origin = Origin(origin)
        except ValueError:
            raise InputError(f"unknown origin {origin!r}") from None
        self.signature = inspect.signature(function)
        parameters = self.signature.parameters
        self.var_keyword = next(
            (p.name for p in parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD), None
        )
        where = f"track({self.qualname})"

        def takes(arg: str) -> bool:
            return arg in parameters or self.var_keyword is not None

        if generator is not None:
            given = [
                label
                for label, value in (
                    ("name", name),
                    ("provider", provider),
                    ("model", model),
                    ("version", version),
                    ("model_arg", model_arg),
                )
                if value is not None
            ]
            if given:
                raise InputError(f"{where}: give generator= or {', '.join(given)}, not both")
            if not isinstance(generator, Generator):
                raise InputError(f"{where}: generator= must be a synthguard Generator")
        elif model is None and model_arg is None:
            raise InputError(f"{where} needs model=, model_arg= or generator=")
        if model is not None and model_arg is not None:
            raise InputError(f"{where}: give model= or model_arg=, not both")
        for arg in (*params, *((model_arg,) if model_arg else ())):
            if not takes(arg):
                raise InputError(f"{where}: the function has no argument {arg!r}")
        self.params = params
        self.model_arg = model_arg
        self.seed_arg = seed_arg if seed_arg and takes(seed_arg) else None
        self.prompt_arg = prompt_arg if prompt_arg and takes(prompt_arg) else None
        self.parents_arg = parents_arg if parents_arg and takes(parents_arg) else None
        self.sources_arg = sources_arg if sources_arg and takes(sources_arg) else None
        self.inputs_arg: str | None = None
        if parents_from_inputs:
            if not batch:
                raise InputError(f"{where}: parents_from_inputs needs batch=True")
            if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
                raise InputError(f"{where}: parents_from_inputs needs a function, not a generator")
            self.inputs_arg = inputs_arg or _first_input(parameters)
            if self.inputs_arg is None or self.inputs_arg not in parameters:
                raise InputError(f"{where}: no argument {inputs_arg!r} to take parents from")
        self.base = generator
        self.name = name or self.qualname
        self.provider = provider
        self.model = model
        self.version = version
        self.needs_arguments = bool(
            params
            or model_arg
            or self.seed_arg
            or self.prompt_arg
            or self.parents_arg
            or self.sources_arg
            or self.inputs_arg
        )
        self._identities: dict[tuple[str | None, bytes], Generator] = {}
        self._fixed: _Call | None = None
        if not self.needs_arguments:
            self._fixed = _Call(self._identity(lambda _arg: _NOT_GIVEN), None, None, [], [], None)

    # -- per call ----------------------------------------------------------------------------

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
        """Read what the records of this call name from its arguments."""
        if self._fixed is not None:
            return self._fixed
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        extra = arguments.get(self.var_keyword, {}) if self.var_keyword else {}

        def pick(arg: str) -> Any:
            if arg in arguments and arg != self.var_keyword:
                return arguments[arg]
            return extra.get(arg, _NOT_GIVEN)

        seed = _given(pick(self.seed_arg)) if self.seed_arg else None
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InputError(
                f"argument {self.seed_arg!r} of {self.qualname} must be an integer seed, "
                f"not {type(seed).__name__}"
            )
        prompt = _given(pick(self.prompt_arg)) if self.prompt_arg else None
        try:
            prompt_digest = digest_json(prompt) if prompt is not None else None
        except InputError as exc:
            raise InputError(f"argument {self.prompt_arg!r} of {self.qualname}: {exc}") from None
        parents = _given(pick(self.parents_arg)) if self.parents_arg else None
        sources = _given(pick(self.sources_arg)) if self.sources_arg else None
        inputs = None
        if self.inputs_arg:
            inputs = self._input_parents(arguments[self.inputs_arg])
        return _Call(
            generator=self._identity(pick),
            seed=seed,
            prompt_digest=prompt_digest,
            parents=self._argument(self.parents_arg, self.recorder.parent_ids, parents),
            sources=self._argument(self.sources_arg, as_sources, sources),
            inputs=inputs,
        )

    def check_parents(self, call: _Call) -> None:
        """Refuse a call whose parents have no known depth, before the function runs."""
        for arg, ids in ((self.parents_arg, call.parents), (self.inputs_arg, call.inputs or [])):
            for i, sample_id in enumerate(ids):
                if self.recorder.depth_of(sample_id) is None:
                    where = f"argument {arg!r} of {self.qualname}"
                    if arg == self.inputs_arg:
                        where += f", item {i}"
                    raise InputError(f"{where}: {unknown_depth(sample_id)}")

    async def resolve(self, call: _Call) -> None:
        """Look up parent depths off the event loop, then check them, before the function runs."""
        ids = call.parents + (call.inputs or [])
        if ids:
            await self.recorder.resolve_depths(ids)
            self.check_parents(call)

    def items(self, call: _Call, value: object, verb: str) -> list[Item]:
        """Prepare the records of what one call returned or yielded (checked, not committed)."""
        if not self.batch:
            sample = self._sample(value, f"{verb} a bad sample")
            return [self._prepare(call, sample, call.parents)]
        if not isinstance(value, list | tuple):
            raise InputError(
                f"{self.qualname} is tracked with batch=True and must return lists of samples; "
                f"it {verb} {type(value).__name__}"
            )
        if call.inputs is not None and len(call.inputs) != len(value):
            raise InputError(
                f"{self.qualname} {verb} {len(value)} samples for {len(call.inputs)} inputs; "
                "parents_from_inputs needs one output per input"
            )
        # Every sample is checked before any record is made: a bad batch records nothing.
        samples = [
            self._sample(item, f"{verb} a bad sample at index {i}") for i, item in enumerate(value)
        ]
        if call.inputs is None:
            return [self._prepare(call, sample, call.parents) for sample in samples]
        return [
            self._prepare(call, sample, _unique([*call.parents, parent]))
            for sample, parent in zip(samples, call.inputs, strict=True)
        ]

    def settle(self, error: BaseException) -> None:
        """Before `error` goes on up: commit what a buffered recorder was handed."""
        if self._should_settle(error):
            self.recorder.flush()

    async def asettle(self, error: BaseException) -> None:
        """`settle` without blocking the event loop."""
        if self._should_settle(error):
            await self.recorder.aflush()

    # -- helpers -----------------------------------------------------------------------------

    def _should_settle(self, error: BaseException) -> bool:
        if isinstance(error, GeneratorExit | asyncio.CancelledError):
            return False
        # A failed writer cannot commit; its error is already on its way up.
        return self.recorder.mode == "buffered" and self.recorder.error is None

    def _prepare(self, call: _Call, sample: Sample, parents: list[str]) -> Item:
        return self.recorder.prepare_generated(
            sample,
            call.generator,
            parents=parents,
            sources=call.sources,
            prompt_digest=call.prompt_digest,
            seed=call.seed,
            origin=self.origin,
        )

    def _sample(self, value: object, what: str) -> Sample:
        try:
            return as_sample(value, self.mapping)
        except InputError as exc:
            raise InputError(f"{self.qualname} {what}: {exc}") from None

    def _argument(self, arg: str | None, convert: Callable[[Any], list[Any]], value: Any) -> Any:
        if value is None:
            return []
        try:
            return convert(value)
        except InputError as exc:
            raise InputError(f"argument {arg!r} of {self.qualname}: {exc}") from None

    def _input_parents(self, inputs: object) -> list[str]:
        where = f"argument {self.inputs_arg!r} of {self.qualname}"
        if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
            raise InputError(f"{where} must be a list of inputs for parents_from_inputs")
        parents = []
        for i, value in enumerate(inputs):
            try:
                if isinstance(value, str) and not value.startswith("sha256:"):
                    parents.append(as_sample(value, self.mapping).id)
                else:
                    parents.append(parent_id(value, self.mapping))
            except InputError as exc:
                raise InputError(f"{where}, item {i}: {exc}") from None
        return parents

    def _identity(self, pick: Callable[[str], Any]) -> Generator:
        model = self.model
        if self.model_arg:
            value = pick(self.model_arg)
            if not isinstance(value, str) or not value:
                shown = "nothing" if value is _NOT_GIVEN else type(value).__name__
                raise InputError(
                    f"argument {self.model_arg!r} of {self.qualname} must name the model "
                    f"(a string), not {shown}"
                )
            model = value
        parameters = {}
        for param in self.params:
            value = pick(param)
            if value is not _NOT_GIVEN:
                parameters[param] = value
        key = (model, self._parameters_json(parameters))
        identity = self._identities.get(key)
        if identity is None:
            if self.base is not None:
                # `model_copy` does not validate: the merged values are copied here, so the
                # identity, which is cached, holds none of the caller's objects.
                merged = json_copy({**self.base.parameters, **parameters})
                identity = self.base.model_copy(update={"parameters": merged})
            else:
                assert model is not None
                identity = Generator(
                    name=self.name,
                    provider=self.provider,
                    model=model,
                    version=self.version,
                    parameters=parameters,
                )
            if len(self._identities) >= _CACHE_LIMIT:
                self._identities.clear()
            self._identities[key] = identity
        return identity

    def _parameters_json(self, parameters: dict[str, Any]) -> bytes:
        try:
            return canonical_json(parameters)
        except InputError:
            for param, value in parameters.items():
                try:
                    canonical_json(value)
                except InputError as exc:
                    raise InputError(
                        f"argument {param!r} of {self.qualname} is a parameter of the record "
                        f"and must be JSON: {exc}"
                    ) from None
            raise


def _first_input(parameters: Any) -> str | None:
    for parameter in parameters.values():
        if parameter.name in _SELF_NAMES:
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            return None
        return str(parameter.name)
    return None


def _given(value: Any) -> Any:
    return None if value is _NOT_GIVEN else value


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


# -- the four wrappers ---------------------------------------------------------------------


def _sync_function(plan: _Plan) -> Callable[..., Any]:
    function, recorder = plan.function, plan.recorder

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = plan.call(args, kwargs)
        plan.check_parents(call)
        try:
            value = function(*args, **kwargs)
            recorder.commit(plan.items(call, value, "returned"))
        except BaseException as exc:
            plan.settle(exc)
            raise
        return value

    return wrapper


def _async_function(plan: _Plan) -> Callable[..., Any]:
    function, recorder = plan.function, plan.recorder

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = plan.call(args, kwargs)
        await plan.resolve(call)
        try:
            value = await function(*args, **kwargs)
            await recorder.commit_async(plan.items(call, value, "returned"))
        except BaseException as exc:
            await plan.asettle(exc)
            raise
        return value

    return wrapper


def _sync_generator(plan: _Plan) -> Callable[..., Any]:
    function, recorder = plan.function, plan.recorder

    def wrapper(*args: Any, **kwargs: Any) -> SyncGenerator[Any, Any, Any]:
        call = plan.call(args, kwargs)
        plan.check_parents(call)
        inner = function(*args, **kwargs)
        try:
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                try:
                    value = inner.send(sent) if thrown is None else inner.throw(thrown)
                except StopIteration as stop:
                    return stop.value
                recorder.commit(plan.items(call, value, "yielded"))
                sent, thrown = None, None
                try:
                    sent = yield value
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    # Thrown in by the caller (`throw`): the wrapped generator gets it, as
                    # `yield from` would hand it over; what it yields next is recorded.
                    thrown = exc
        except BaseException as exc:
            plan.settle(exc)
            raise
        finally:
            inner.close()

    return wrapper


def _async_generator(plan: _Plan) -> Callable[..., Any]:
    function, recorder = plan.function, plan.recorder

    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        call = plan.call(args, kwargs)
        await plan.resolve(call)
        inner = function(*args, **kwargs)
        try:
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                try:
                    if thrown is None:
                        value = await inner.asend(sent)
                    else:
                        value = await inner.athrow(thrown)
                except StopAsyncIteration:
                    return
                await recorder.commit_async(plan.items(call, value, "yielded"))
                sent, thrown = None, None
                try:
                    sent = yield value
                except GeneratorExit:
                    raise
                except BaseException as exc:
                    thrown = exc  # thrown in by the caller (`athrow`): handed over, as above
        except BaseException as exc:
            await plan.asettle(exc)
            raise
        finally:
            await inner.aclose()

    return wrapper
