//! `#[kubekit::test]`: parse the attribute's arguments and the function, check them, generate
//! the `#[test]`. Every problem becomes a `compile_error!` at its span, emitted together with
//! the function as written so that IDEs keep resolving its body.

use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{
    FnArg, ItemFn, LitInt, LitStr, ReturnType, Token, Type,
    meta::ParseNestedMeta,
    parse::{Parse, ParseStream, Parser},
    punctuated::Punctuated,
    spanned::Spanned,
};

use crate::fixtures;

/// The runtime the test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The attribute's arguments.
#[derive(Default)]
struct Args {
    fixtures: Vec<LitStr>,
    flavor: Option<(Flavor, Span)>,
    worker_threads: Option<LitInt>,
}

const EXPECTED: &str = "expected `fixtures(\"path.yaml\", ...)`, `flavor = \"current_thread\"` or \
                        `flavor = \"multi_thread\"`, or `worker_threads = N`";

impl Args {
    fn parse_one(&mut self, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("fixtures") {
            let content;
            syn::parenthesized!(content in meta.input);
            let paths = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
            if paths.is_empty() {
                return Err(meta.error("`fixtures(...)` needs at least one path"));
            }
            self.fixtures.extend(paths);
        } else if meta.path.is_ident("flavor") {
            let lit: LitStr = meta.value()?.parse()?;
            let flavor = match lit.value().as_str() {
                "current_thread" => Flavor::CurrentThread,
                "multi_thread" => Flavor::MultiThread,
                other => {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "unknown flavor `{other}`; expected \"current_thread\" or \
                             \"multi_thread\""
                        ),
                    ));
                }
            };
            if self.flavor.is_some() {
                return Err(meta.error("`flavor` is given twice"));
            }
            self.flavor = Some((flavor, lit.span()));
        } else if meta.path.is_ident("worker_threads") {
            let lit: LitInt = meta.value()?.parse()?;
            if lit.base10_parse::<usize>()? == 0 {
                return Err(syn::Error::new(
                    lit.span(),
                    "`worker_threads` must be at least 1",
                ));
            }
            if self.worker_threads.is_some() {
                return Err(meta.error("`worker_threads` is given twice"));
            }
            self.worker_threads = Some(lit);
        } else {
            let name = meta.path.to_token_stream().to_string().replace(' ', "");
            return Err(meta.error(format!(
                "unknown argument `{name}` to `#[kubekit::test]`; {EXPECTED}"
            )));
        }
        Ok(())
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        syn::meta::parser(|meta| args.parse_one(meta)).parse2(input.parse()?)?;
        Ok(args)
    }
}

/// Collects several errors into one.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Expands `#[kubekit::test(args)] item`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            let error = syn::Error::new(
                error.span(),
                "`#[kubekit::test]` goes on an `async fn` (a test function)",
            );
            let mut out = error.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let result = syn::parse2::<Args>(args)
        .and_then(|args| generate(&args, &function, manifest_dir.as_deref()));
    match result {
        Ok(out) => out,
        Err(error) => {
            let mut out = error.to_compile_error();
            // The function as written, so that its body is still checked and resolved.
            out.extend(quote! { #[allow(dead_code)] #function });
            out
        }
    }
}

/// Checks the function and the fixtures, then writes the test.
fn generate(
    args: &Args,
    function: &ItemFn,
    manifest_dir: Option<&std::path::Path>,
) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let sig = &function.sig;

    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span,
            "`#[kubekit::test]` goes on an `async fn`: write `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(syn::Error::new(
            sig.generics.span(),
            "a `#[kubekit::test]` function cannot be generic",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(
            variadic.span(),
            "a `#[kubekit::test]` function cannot be variadic",
        ));
    }
    for attr in &function.attrs {
        if attr.path().is_ident("test") {
            errors.push(syn::Error::new(
                attr.span(),
                "remove this `#[test]`: `#[kubekit::test]` adds it",
            ));
        }
    }
    if args.worker_threads.is_some() && !matches!(args.flavor, Some((Flavor::MultiThread, _))) {
        errors.push(syn::Error::new(
            args.worker_threads.span(),
            "`worker_threads` needs `flavor = \"multi_thread\"`",
        ));
    }

    if let ReturnType::Type(_, ty) = &sig.output
        && contains_impl_trait(ty)
    {
        errors.push(syn::Error::new(
            ty.span(),
            "a `#[kubekit::test]` function returns `()` or `Result<(), E>`, not `impl Trait`",
        ));
    }

    let mut arg_types = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new(
                receiver.span(),
                "a `#[kubekit::test]` function cannot take `self`",
            )),
            FnArg::Typed(typed) => {
                if contains_impl_trait(&typed.ty) {
                    errors.push(syn::Error::new(
                        typed.ty.span(),
                        "a `#[kubekit::test]` parameter needs a concrete type such as \
                         `kubekit::Client`, not `impl Trait`",
                    ));
                }
                arg_types.push(&*typed.ty);
            }
        }
    }

    let mut fixture_tokens = Vec::new();
    for lit in &args.fixtures {
        let path = lit.value();
        let checked = match manifest_dir {
            Some(dir) => fixtures::check(&path, &fixtures::resolve(dir, &path)),
            None => Err("CARGO_MANIFEST_DIR is not set: fixtures need a Cargo build".into()),
        };
        match checked {
            Ok(()) => fixture_tokens.push(quote_spanned! {lit.span()=>
                ::kubekit::testing::__private::Fixture {
                    path: #lit,
                    yaml: ::core::include_str!(::core::concat!(
                        ::core::env!("CARGO_MANIFEST_DIR"), "/", #lit
                    )),
                }
            }),
            Err(message) => errors.push(syn::Error::new(lit.span(), message)),
        }
    }
    errors.finish()?;

    let name = &sig.ident;
    let attrs = &function.attrs;
    let inner = ItemFn {
        attrs: Vec::new(),
        vis: syn::Visibility::Inherited,
        sig: sig.clone(),
        block: function.block.clone(),
    };
    let call_args = arg_types.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            <#ty as ::kubekit::testing::TestArg<'_>>::from_namespace(&__kubekit_namespace)
        }
    });
    let call = quote! { #name(#(#call_args),*).await };
    let run = match &sig.output {
        ReturnType::Default => quote! { #call; },
        ReturnType::Type(_, ty) => {
            let check = quote_spanned! {ty.span()=>
                <#ty as ::kubekit::testing::__private::TestResult>::check
            };
            quote! {
                let __kubekit_result = #call;
                #check(__kubekit_result);
            }
        }
    };
    let flavor = match args.flavor {
        Some((Flavor::MultiThread, span)) => {
            let workers = match &args.worker_threads {
                Some(n) => quote! { ::core::option::Option::Some(#n) },
                None => quote! { ::core::option::Option::None },
            };
            quote_spanned! {span=> ::kubekit::testing::__private::Flavor::MultiThread(#workers) }
        }
        _ => quote! { ::kubekit::testing::__private::Flavor::CurrentThread },
    };

    Ok(quote! {
        #(#attrs)*
        // Outside test builds (doctests, trybuild) the function stays, so that its
        // signature and body are checked there too.
        #[cfg_attr(test, ::core::prelude::v1::test)]
        #[cfg_attr(not(test), allow(dead_code))]
        fn #name() {
            #inner

            const __KUBEKIT_FIXTURES: &[::kubekit::testing::__private::Fixture] = &[#(#fixture_tokens),*];
            const __KUBEKIT_TEST_PATH: &str =
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name));
            ::kubekit::testing::__private::runtime(#flavor).block_on(async {
                let __kubekit_started = ::kubekit::testing::__private::now();
                let __kubekit_namespace = ::kubekit::testing::__private::setup(
                    __KUBEKIT_TEST_PATH,
                    __KUBEKIT_FIXTURES,
                )
                .await;
                let __kubekit_outcome = ::kubekit::testing::__private::catch(async {
                    #run
                })
                .await;
                if let ::core::result::Result::Err(__kubekit_panic) = __kubekit_outcome {
                    // Reported before the namespace is kept (and the cluster may stop).
                    ::kubekit::testing::__private::report_failure(
                        __KUBEKIT_TEST_PATH,
                        &__kubekit_namespace,
                        __kubekit_started,
                        &*__kubekit_panic,
                    )
                    .await;
                    ::std::panic::resume_unwind(__kubekit_panic);
                }
                // Deleted once the test passed; a namespace that cannot be deleted gets a
                // report.
                ::kubekit::testing::__private::finish(
                    __KUBEKIT_TEST_PATH,
                    __kubekit_namespace,
                    __kubekit_started,
                )
                .await;
            })
        }
    })
}

/// Whether `ty` has an `impl Trait` anywhere.
fn contains_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Reference(r) => contains_impl_trait(&r.elem),
        Type::Paren(p) => contains_impl_trait(&p.elem),
        Type::Group(g) => contains_impl_trait(&g.elem),
        Type::Tuple(t) => t.elems.iter().any(contains_impl_trait),
        Type::Slice(s) => contains_impl_trait(&s.elem),
        Type::Array(a) => contains_impl_trait(&a.elem),
        Type::Path(p) => p.path.segments.iter().any(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().any(|arg| match arg {
                syn::GenericArgument::Type(t) => contains_impl_trait(t),
                _ => false,
            }),
            _ => false,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;

    fn expand_str(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn wraps_an_async_fn_in_a_test() {
        let out = expand_str(
            quote! {},
            quote! { async fn t(client: kubekit::Client) -> Result<(), E> { Ok(()) } },
        );
        assert!(
            out.contains("# [cfg_attr (test , :: core :: prelude :: v1 :: test)]"),
            "{out}"
        );
        assert!(
            out.contains("async fn t (client : kubekit :: Client)"),
            "{out}"
        );
        assert!(out.contains("TestResult > :: check"), "{out}");
        assert!(out.contains("Flavor :: CurrentThread"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn reports_misuse_and_reemits_the_function() {
        let out = expand_str(quote! { nope = 1 }, quote! { async fn t() {} });
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("unknown argument `nope`"), "{out}");
        assert!(out.contains("async fn t ()"), "{out}");

        let out = expand_str(quote! {}, quote! { fn t() {} });
        assert!(out.contains("goes on an `async fn`"), "{out}");

        let out = expand_str(quote! { worker_threads = 2 }, quote! { async fn t() {} });
        assert!(
            out.contains("needs `flavor = \\\"multi_thread\\\"`"),
            "{out}"
        );

        let out = expand_str(quote! { flavor = "single" }, quote! { async fn t() {} });
        assert!(out.contains("unknown flavor `single`"), "{out}");

        let out = expand_str(quote! {}, quote! { async fn t<T>(x: impl Sized) {} });
        assert!(out.contains("cannot be generic"), "{out}");
        assert!(out.contains("not `impl Trait`"), "{out}");
    }

    #[test]
    fn checks_fixtures_at_expansion() {
        let out = expand_str(
            quote! { fixtures("does/not/exist.yaml") },
            quote! { async fn t() {} },
        );
        assert!(
            out.contains("fixture `does/not/exist.yaml` not found"),
            "{out}"
        );
    }
}
