from django import template

from profiles.masking import mask_text

register = template.Library()


@register.filter
def masked(text: str) -> str:
    """A reason or remark with any identifier value in it masked (the result is still autoescaped)."""
    return mask_text(text)
