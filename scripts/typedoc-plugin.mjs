// A TypeDoc plugin for tsyncio's site: members whose names start with `_` are internal
// (shared between modules, marked `@internal` or not), so the API reference leaves them out.
import { Converter, ReflectionKind } from "typedoc";

/** @param {import("typedoc").Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (reflection.name.startsWith("_") && reflection.kindOf(ReflectionKind.ClassMember)) {
      context.project.removeReflection(reflection);
    }
  });
}
