/**
 * Secret formats the tree must not contain. Only shapes that are a credential whenever they occur
 * (a vendor prefix plus a long random body, or a private key block), so a hit is worth failing on.
 * Bodies use bounded quantifiers only: every rule stays linear in the file size.
 */
export interface SecretRule {
  id: string;
  what: string;
  regex: RegExp;
}

export const SECRET_RULES: readonly SecretRule[] = [
  { id: "anthropic-key", what: "Anthropic API key", regex: /sk-ant-(?:api|admin|oat)\d{2}-[A-Za-z0-9_-]{20,200}/g },
  { id: "openai-key", what: "OpenAI API key", regex: /sk-(?:proj|svcacct)-[A-Za-z0-9_-]{20,200}/g },
  { id: "aws-access-key", what: "AWS access key id", regex: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  {
    id: "github-token",
    what: "GitHub token",
    regex: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
  },
  { id: "slack-token", what: "Slack token", regex: /\bxox[abprs]-[A-Za-z0-9-]{10,200}/g },
  { id: "google-api-key", what: "Google API key", regex: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  {
    id: "private-key",
    what: "private key block",
    regex: /-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY(?: BLOCK)?-----/g,
  },
];

export interface SecretHit {
  file: string;
  line: number;
  rule: string;
  what: string;
}

/** Every rule's hits in one file's text, with 1-based line numbers (the secret itself is never returned). */
export function scanText(file: string, text: string): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const rule of SECRET_RULES) {
    for (const m of text.matchAll(rule.regex)) {
      const line = text.slice(0, m.index).split("\n").length;
      hits.push({ file, line, rule: rule.id, what: rule.what });
    }
  }
  return hits;
}
