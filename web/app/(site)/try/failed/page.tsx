import type { Metadata } from "next";
import { cookies } from "next/headers";

import { ButtonLink } from "@/components/ui/button";
import { Notice } from "@/components/ui/notice";
import { TRY_PROBLEM_COOKIE, decodeTryProblem } from "@/lib/try-problem-cookie";

export const metadata: Metadata = { title: "Your free clip", robots: { index: false } };

function clockTimeUtc(secondsFromNow: number): string {
  return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" }).format(Date.now() + secondsFromNow * 1000);
}

/** Why the no-JavaScript free try was refused, as the API put it, and what to do next. */
export default async function FreeTryFailedPage() {
  const problem = decodeTryProblem((await cookies()).get(TRY_PROBLEM_COOKIE)?.value);
  const rateLimited = problem?.code === "RATE_LIMITED";
  return (
    <div className="mx-auto flex w-full max-w-xl flex-col gap-6 pb-16 pt-4 sm:pt-10">
      <h1 className="font-display text-3xl text-ink sm:text-4xl">{rateLimited ? "You've had your free clip" : "That photo didn't go through"}</h1>
      <Notice tone="problem">
        <p>{problem?.detail || "Something went wrong with the upload. Please choose your photo again."}</p>
        {rateLimited && problem?.retryAfter ? <p className="mt-1 font-medium">You can try again after {clockTimeUtc(problem.retryAfter)} UTC.</p> : null}
      </Notice>
      <div className="flex flex-col gap-3 sm:flex-row">
        {rateLimited ? (
          <ButtonLink href="/signup" block>
            Sign up to make more clips
          </ButtonLink>
        ) : (
          <ButtonLink href="/#try" block>
            Choose another photo
          </ButtonLink>
        )}
        <ButtonLink href="/" variant="secondary" block>
          Back to the start
        </ButtonLink>
      </div>
    </div>
  );
}
