"use client";

import Link from "next/link";
import { useState, type FormEvent } from "react";

import { Button } from "@/components/ui/button";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, request } from "@/lib/api/client";
import { ApiError, describeProblem, type ProblemMessage } from "@/lib/api/problems";

interface AuthFormProps {
  mode: "signup" | "login";
  /** Where to go afterwards (already checked to be a path on this site). */
  next: string;
  /** A referral code from the link the person arrived by. */
  referralCode?: string | null;
}

const MIN_PASSWORD_LENGTH = 10;

function withClaimed(next: string, clipIds: string[]): string {
  if (clipIds.length === 0) return next;
  const url = new URL(next, window.location.origin);
  url.searchParams.set("claimed", clipIds.join(","));
  return url.pathname + url.search;
}

/** Sign up or log in; on success the whole page reloads at `next`, now signed in. */
export function AuthForm({ mode, next, referralCode }: AuthFormProps) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "").trim();
    const password = String(form.get("password") ?? "");
    setProblem(null);
    setFieldErrors({});
    if (mode === "signup" && password.length < MIN_PASSWORD_LENGTH) {
      setFieldErrors({ password: `Please choose a password of at least ${MIN_PASSWORD_LENGTH} characters.` });
      return;
    }
    setBusy(true);
    try {
      if (mode === "signup") {
        const displayName = String(form.get("displayName") ?? "").trim();
        const code = String(form.get("referralCode") ?? "").trim();
        const result = await request(() =>
          api.POST("/api/auth/signup", { body: { email, password, displayName: displayName || null, referralCode: code || null } }),
        );
        window.location.assign(withClaimed(next, result.claimedClipIds));
      } else {
        await request(() => api.POST("/api/auth/login", { body: { email, password } }));
        window.location.assign(next);
      }
    } catch (error) {
      setBusy(false);
      const field = error instanceof ApiError ? error.problem.field : undefined;
      if (field && ["email", "password", "displayName", "referralCode"].includes(field)) {
        setFieldErrors({ [field]: describeProblem(error).message });
      } else {
        setProblem(describeProblem(error));
      }
    }
  }

  const signup = mode === "signup";
  return (
    <form method="post" onSubmit={submit} noValidate className="flex flex-col gap-5" data-testid={`${mode}-form`}>
      <noscript>
        <p className="rounded-2xl bg-sand px-4 py-3 text-sm text-ink">{signup ? "Signing up" : "Logging in"} needs JavaScript. Please turn it on and reload the page.</p>
      </noscript>
      {signup && <Field name="displayName" label="Your name" autoComplete="name" optional error={fieldErrors.displayName} />}
      <Field name="email" label="Email" type="email" autoComplete="email" inputMode="email" required error={fieldErrors.email} />
      <Field
        name="password"
        label="Password"
        type="password"
        autoComplete={signup ? "new-password" : "current-password"}
        required
        hint={signup ? `At least ${MIN_PASSWORD_LENGTH} characters.` : undefined}
        error={fieldErrors.password}
      />
      {signup && (
        <Field
          name="referralCode"
          label="Referral code"
          optional
          defaultValue={referralCode ?? ""}
          hint={referralCode ? "From the link you followed: you both get 5 credits after your first purchase, once your e-mail addresses are confirmed." : "If a friend gave you one."}
          autoComplete="off"
          error={fieldErrors.referralCode}
        />
      )}
      <ProblemNotice problem={problem} />
      <Button type="submit" disabled={busy} block>
        {busy ? (signup ? "Creating your account…" : "Logging in…") : signup ? "Create my account" : "Log in"}
      </Button>
      <p className="text-center text-sm text-muted">
        {signup ? "Already have an account? " : "New to Echoes? "}
        <Link href={`${signup ? "/login" : "/signup"}?next=${encodeURIComponent(next)}`} className="font-semibold text-ember-deep underline-offset-4 hover:underline">
          {signup ? "Log in" : "Create an account"}
        </Link>
      </p>
    </form>
  );
}

interface FieldProps {
  name: string;
  label: string;
  type?: string;
  autoComplete?: string;
  inputMode?: "email" | "text";
  required?: boolean;
  optional?: boolean;
  hint?: string;
  error?: string;
  defaultValue?: string;
}

function Field({ name, label, type = "text", autoComplete, inputMode, required, optional, hint, error, defaultValue }: FieldProps) {
  const id = `field-${name}`;
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="flex flex-col gap-1.5">
      <label htmlFor={id} className="text-sm font-semibold text-ink">
        {label}
        {optional && <span className="font-normal text-muted"> (optional)</span>}
      </label>
      <input
        id={id}
        name={name}
        type={type}
        autoComplete={autoComplete}
        inputMode={inputMode}
        required={required}
        defaultValue={defaultValue}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        className={`min-h-12 rounded-xl border bg-paper px-4 text-base text-ink shadow-sm outline-none transition-colors placeholder:text-muted/70 focus:border-ember focus:ring-2 focus:ring-ember/20 ${error ? "border-ember" : "border-line"}`}
      />
      {hint && !error && (
        <p id={`${id}-hint`} className="text-sm text-muted">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="text-sm font-medium text-ember-deep">
          {error}
        </p>
      )}
    </div>
  );
}
