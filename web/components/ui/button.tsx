import Link from "next/link";
import type { AnchorHTMLAttributes, ButtonHTMLAttributes, ComponentProps } from "react";

type Variant = "primary" | "secondary" | "quiet" | "danger";
type Size = "md" | "sm";

interface Look {
  variant?: Variant;
  size?: Size;
  /** Full width (the default on phones for the main action of a card). */
  block?: boolean;
}

const VARIANTS: Record<Variant, string> = {
  primary: "bg-ember text-white shadow-sm hover:bg-ember-deep disabled:bg-line disabled:text-muted disabled:shadow-none",
  secondary: "border border-line bg-paper text-ink shadow-sm hover:border-ember/50 hover:bg-white disabled:text-muted",
  quiet: "text-ember-deep hover:bg-ember-soft/60 disabled:text-muted",
  danger: "border border-ember/30 bg-paper text-ember-deep hover:bg-ember-soft/60 disabled:text-muted",
};

const SIZES: Record<Size, string> = {
  md: "min-h-12 px-6 text-base",
  sm: "min-h-11 px-4 text-sm",
};

/** The classes of a button; exported for the odd element that must look like one (a label). */
export function buttonClasses({ variant = "primary", size = "md", block = false }: Look = {}, extra = ""): string {
  return [
    "inline-flex items-center justify-center gap-2 rounded-full py-2 text-center font-semibold leading-tight transition-colors select-none",
    "disabled:cursor-not-allowed",
    VARIANTS[variant],
    SIZES[size],
    block ? "w-full" : "",
    extra,
  ]
    .filter(Boolean)
    .join(" ");
}

export function Button({ variant, size, block, className, type = "button", ...props }: ButtonHTMLAttributes<HTMLButtonElement> & Look) {
  return <button type={type} className={buttonClasses({ variant, size, block }, className)} {...props} />;
}

export function ButtonLink({ variant, size, block, className, ...props }: ComponentProps<typeof Link> & Look) {
  return <Link className={buttonClasses({ variant, size, block }, className)} {...props} />;
}

/** For links that must leave the app router (downloads, other origins). */
export function ButtonAnchor({ variant, size, block, className, ...props }: AnchorHTMLAttributes<HTMLAnchorElement> & Look) {
  return <a className={buttonClasses({ variant, size, block }, className)} {...props} />;
}
