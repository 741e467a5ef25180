/** The answers' description of a structured reply's checking: its rounds and their issues (see domain ReplyValidation). */
import { z } from '@hono/zod-openapi';

export const ValidationIssue = z
  .object({
    path: z.string().openapi({ description: 'JSON pointer to the value at fault ("" for the whole value)' }),
    message: z.string(),
    expected: z.string(),
    found: z.string(),
    suggestion: z.string().optional(),
    rule: z.string().openapi({ description: 'the JSON Schema keyword or named rule that failed' }),
  })
  .openapi('ValidationIssue');
export const ReplyValidation = z
  .object({
    schema: z.string().openapi({ description: '`name@version`, or `inline`' }),
    maxRepairs: z.number().int(),
    valid: z.boolean().nullable().openapi({ description: 'null while being answered' }),
    rounds: z.array(
      z.object({
        round: z.number().int(),
        valid: z.boolean(),
        answer: z.string(),
        issues: z.array(ValidationIssue),
        at: z.string(),
      }),
    ),
  })
  .openapi('ReplyValidation', { description: "a structured reply's checking: each round's answer and its issues" });
