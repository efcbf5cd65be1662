import type { Metadata } from "next";
import { redirect } from "next/navigation";

import { AuthCard } from "@/components/auth-card";
import { AuthForm } from "@/components/auth-form";
import { getSession } from "@/lib/api/server";
import { safeNextPath } from "@/lib/safe-next";

export const metadata: Metadata = { title: "Log in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const next = safeNextPath((await searchParams).next);
  if (await getSession().catch(() => null)) redirect(next);
  return (
    <AuthCard title="Welcome back" lead="Log in to see your projects, clips and videos.">
      <AuthForm mode="login" next={next} />
    </AuthCard>
  );
}
