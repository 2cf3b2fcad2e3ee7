"""The compiler's one error: the input is not a schema at all."""


class SchemaError(TypeError):
    """The given type or dict cannot be turned into a JSON Schema.

    A schema the engine cannot fully express is *not* an error: it compiles to a
    looser grammar and the report lists what is validated after decoding.
    """
