/** Referral codes as they travel from a shared link to the sign-up form. */

export const REFERRAL_COOKIE = "echoes_ref";
export const REFERRAL_MAX_AGE_SECONDS = 30 * 24 * 3600;

/** The code in a normal form (upper case, letters and digits), or null for anything else. */
export function cleanReferralCode(raw: string | null | undefined): string | null {
  const code = raw?.trim().toUpperCase() ?? "";
  return /^[A-Z0-9]{4,32}$/.test(code) ? code : null;
}
