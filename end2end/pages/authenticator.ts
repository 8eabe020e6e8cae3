import { createHmac } from "node:crypto";

/** The code an authenticator app shows for `key` (base32, as Tally shows it) at a time step
 * (RFC 6238: HMAC-SHA-1 of the 30-second step, 6 digits). */
export function totpAt(key: string, step: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of key.replace(/[\s=]/g, "").toUpperCase()) {
    value = ((value << 5) | alphabet.indexOf(c)) & 0x1fff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const h = createHmac("sha1", Buffer.from(bytes)).update(counter).digest();
  const o = h[19] & 0x0f;
  const bin = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(bin % 1_000_000).padStart(6, "0");
}

/** An authenticator app: each code it gives is for a newer step than the last (the server
 * takes a code once), the current one or the next (one step of drift is allowed). */
export class AuthenticatorApp {
  /** The step of the last code given. */
  last = 0;
  constructor(readonly key: string, last = 0) {
    this.last = last;
  }

  async code(): Promise<string> {
    for (;;) {
      const now = Math.floor(Date.now() / 1000 / 30);
      const step = Math.max(now, this.last + 1);
      if (step <= now + 1) {
        this.last = step;
        return totpAt(this.key, step);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
